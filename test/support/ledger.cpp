#include "ledger.hpp"

#include <charconv>
#include <cstdio>
#include <iostream>
#include <utility>

namespace streamq::test {

namespace {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string ledger_report::json() const {
  std::string out = "{\"test\":" + json_string(test);
  struct field {
    const char* name;
    std::uint64_t value;
    bool measured;
  };
  const field fields[] = {
      {"ok", ok, true},
      {"lost", lost, true},
      {"duplicated", duplicated, true},
      {"reexecuted", reexecuted, scope.handlers},
      {"recovered", recovered, true},
      {"unexpected", unexpected, true},
      {"recovery_ms", recovery_ms, scope.recovery},
  };
  for (const auto& [name, value, measured] : fields)
    if (measured) out += ",\"" + std::string(name) + "\":" + std::to_string(value);
  return out + "}";
}

ledger::ledger(std::string test_name, ledger_scope scope)
    : test_(std::move(test_name)), scope_(scope) {}

std::string ledger::label(std::uint64_t seq) {
  return "seq-" + std::to_string(seq);
}

std::optional<std::uint64_t> ledger::parse_label(std::string_view text) {
  constexpr std::string_view prefix = "seq-";
  if (!text.starts_with(prefix)) return std::nullopt;
  text.remove_prefix(prefix.size());
  std::uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return seq;
}

std::uint64_t ledger::next_sequence() {
  std::lock_guard lock(mutex_);
  return next_++;
}

void ledger::success_locked() {
  if (!fault_at_) return;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - *fault_at_);
  recovery_ = std::max(recovery_, took);
  fault_at_.reset();
}

void ledger::record_publish(std::uint64_t seq, outcome how) {
  std::lock_guard lock(mutex_);
  published_[seq] = how;
  if (how == outcome::ok) success_locked();
}

void ledger::record_handled(std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  ++handled_[seq];
  success_locked();
}

void ledger::record_stream_entry(std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  ++present_[seq];
}

void ledger::record_dead_letter(std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  dead_.insert(seq);
}

void ledger::record_foreign_entry() {
  std::lock_guard lock(mutex_);
  ++foreign_;
}

void ledger::fault_injected() {
  std::lock_guard lock(mutex_);
  if (!fault_at_) fault_at_ = std::chrono::steady_clock::now();
}

std::size_t ledger::outstanding() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [seq, how] : published_)
    if (how == outcome::ok && !handled_.contains(seq) && !dead_.contains(seq)) ++n;
  return n;
}

std::size_t ledger::handled_count() const {
  std::lock_guard lock(mutex_);
  return handled_.size();
}

ledger_report ledger::report() const {
  std::lock_guard lock(mutex_);
  ledger_report r;
  r.test = test_;
  r.scope = scope_;
  r.recovery_ms = static_cast<std::uint64_t>(recovery_.count());
  r.dead_lettered = dead_.size();
  r.handled = handled_.size();
  r.unexpected = foreign_;
  for (const auto& [seq, how] : published_) {
    switch (how) {
      case outcome::ok:
        ++r.ok;
        // With no handlers, a confirmed publish is safe once it is stored.
        if (!(scope_.handlers ? handled_.contains(seq) : present_.contains(seq)) &&
            !dead_.contains(seq))
          ++r.lost;
        break;
      case outcome::failed:
        ++r.failed;
        break;
      case outcome::indeterminate:
        ++r.indeterminate;
        if (present_.contains(seq) || handled_.contains(seq) || dead_.contains(seq)) ++r.recovered;
        break;
    }
  }
  auto never_written = [&](std::uint64_t seq) {
    const auto it = published_.find(seq);
    return it == published_.end() || it->second == outcome::failed;
  };
  std::set<std::uint64_t> seen;
  for (const auto& [seq, entries] : present_) {
    r.duplicated += entries - 1;
    seen.insert(seq);
  }
  for (const auto& [seq, runs] : handled_) {
    r.reexecuted += runs - 1;
    seen.insert(seq);
  }
  seen.insert(dead_.begin(), dead_.end());
  for (const auto seq : seen)
    if (never_written(seq)) ++r.unexpected;
  return r;
}

ledger_report ledger::print() const {
  auto r = report();
  std::cout << "LEDGER " << r.json() << std::endl;
  return r;
}

}  // namespace streamq::test
