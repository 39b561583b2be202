#!/usr/bin/env python3
"""Checks docs/prometheus-alerts.yml and docs/grafana-dashboard.json (test unit/metrics-docs-are-valid):
both parse (the YAML with PyYAML when it is installed), have the shape Prometheus and Grafana
load, and name only metrics that docs/observability.md lists (the unit test
"docs/observability.md describes every metric" ties that list to the library's families)."""
import json
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
doc = (root / "docs/observability.md").read_text()
documented = set(re.findall(r"^\| `(streamq_[a-z0-9_]+)` \|", doc, re.M))
errors = []


def known(expr, where):
    for name in re.findall(r"\bstreamq_[a-z0-9_]+", expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in documented and base not in documented:
            errors.append(f"{where}: unknown metric {name}")


if not documented:
    errors.append("docs/observability.md: no metric table")

rules_text = (root / "docs/prometheus-alerts.yml").read_text()
try:
    import yaml
except ImportError:  # the shape checks below need it; JSON is still checked
    yaml = None
if yaml is not None:
    rules = yaml.safe_load(rules_text)
    groups = rules.get("groups") if isinstance(rules, dict) else None
    if not groups:
        errors.append("alerts: no groups")
    for group in groups or []:
        if not group.get("name") or not group.get("rules"):
            errors.append(f"alerts: group without name or rules: {group}")
        for rule in group.get("rules", []):
            name = rule.get("alert")
            if not name or not isinstance(rule.get("expr"), str):
                errors.append(f"alerts: rule without alert or expr: {rule}")
                continue
            if set(rule) - {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}:
                errors.append(f"alerts: {name}: unknown keys {set(rule)}")
            if "for" in rule and not re.fullmatch(r"\d+[smhd]", str(rule["for"])):
                errors.append(f"alerts: {name}: bad duration {rule['for']}")
            if rule["expr"].count("(") != rule["expr"].count(")"):
                errors.append(f"alerts: {name}: unbalanced parentheses")
            known(rule["expr"], f"alerts: {name}")
else:
    known(rules_text, "alerts")

dash = json.loads((root / "docs/grafana-dashboard.json").read_text())
for key in ("title", "uid", "panels", "schemaVersion"):
    if key not in dash:
        errors.append(f"dashboard: no {key}")
ids = [p.get("id") for p in dash.get("panels", [])]
if len(ids) != len(set(ids)):
    errors.append("dashboard: duplicate panel ids")
exprs = " ".join(t.get("expr", "") for p in dash.get("panels", []) for t in p.get("targets", []))
for needed in ("histogram_quantile", "streamq_group_lag", "streamq_connection_state",
               "streamq_group_oldest_pending_age_seconds", "streamq_dead_letter_stream_length"):
    if needed not in exprs:
        errors.append(f"dashboard: no panel uses {needed}")
for p in dash.get("panels", []):
    for t in p.get("targets", []):
        known(t.get("expr", ""), f"dashboard: {p.get('title')}")
        if t.get("expr", "").count("(") != t.get("expr", "").count(")"):
            errors.append(f"dashboard: {p.get('title')}: unbalanced parentheses")

for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
