#pragma once
// The observability routes of an http::endpoint (docs/observability.md, "Endpoints"):
//
//   GET /metrics  200, the Prometheus text exposition (version 0.0.4) of metrics::render():
//                 every watched component read at that moment, sampled gauges as of the
//                 sampler's last tick.
//   GET /healthz  200 "ok": the process is alive and its event loop answers (no other check:
//                 a liveness probe must not fail because Redis is down, or the orchestrator
//                 restarts a process that would recover by itself).
//   GET /readyz   200 when metrics::ready() passes, else 503; the body is JSON either way:
//                 {"ready":false,"checks":[{"name":"client main","ok":false,
//                  "reason":"connecting"}, ...]}
//
//   streamq::http::endpoint ep(ex, {.port = 9464});
//   streamq::metrics::add_routes(ep, m);
//   co_await (ep.async_run() && m.async_run());
//
// The routes hold a reference to `m`: it must outlive the endpoint's run().

#include <string>

namespace streamq::http {
class endpoint;
}

namespace streamq::metrics {

class metrics;
struct readiness;

// Registers /metrics, /healthz and /readyz (GET and HEAD) on `ep`, before ep.run(). Throws
// std::invalid_argument if one of the paths is already routed.
void add_routes(http::endpoint& ep, metrics& m);

// The /readyz body for `r` (JSON, one line).
[[nodiscard]] std::string readiness_json(const readiness& r);

}  // namespace streamq::metrics
