#include "retry_rules.hpp"

namespace streamq::redis::cluster {

std::chrono::milliseconds backoff_delay(unsigned attempts, const retry_limits& limits) noexcept {
  auto delay = limits.initial_backoff;
  for (unsigned i = 1; i < attempts && delay < limits.max_backoff; ++i) delay *= 2;
  return delay < limits.max_backoff ? delay : limits.max_backoff;
}

retry_decision decide_retry(const attempt_outcome& outcome, bool transaction,
                            std::string_view origin_host, const retry_state& state,
                            const retry_limits& limits) {
  retry_decision d;
  if (outcome.faults == 0) return d;
  const bool nothing_ran = outcome.faults == outcome.replies ||
                           (transaction && outcome.last_reply_execabort);
  if (!nothing_ran) {
    d.reason = retry_reason::partly_ran;
    // The slot map is still wrong for whoever comes next.
    d.refresh_topology = outcome.first_fault == resp::server_errc::moved;
    return d;
  }
  if (state.attempts >= limits.max_attempts) {
    d.reason = retry_reason::out_of_attempts;
    d.refresh_topology = true;
    return d;
  }

  const auto back_off = [&](retry_reason reason, bool refresh) {
    const auto delay = backoff_delay(state.attempts, limits);
    if (state.elapsed + delay > limits.deadline) {
      d.reason = retry_reason::out_of_time;
      d.refresh_topology = refresh;
      return d;
    }
    d.step = retry_step::backoff;
    d.reason = reason;
    d.delay = delay;
    d.refresh_topology = refresh;
    return d;
  };

  switch (outcome.first_fault) {
    case resp::server_errc::moved:
    case resp::server_errc::ask: {
      redirection r;
      if (parse_redirection(outcome.first_fault_text, origin_host, r)) {
        d.reason = retry_reason::malformed;
        d.refresh_topology = true;
        return d;
      }
      // The node knows the slot moved but not where to: only a fresh topology tells.
      if (!r.known) return back_off(retry_reason::unknown_endpoint, true);
      d.redirect = r;
      if (r.kind == redirect_kind::moved) {
        d.step = retry_step::resend;
        d.reason = retry_reason::moved;
        d.update_slot_map = true;
        d.refresh_topology = true;  // one slot seen moving: others likely moved with it
      } else {
        d.step = retry_step::resend_asking;
        d.reason = retry_reason::ask;
      }
      return d;
    }
    case resp::server_errc::tryagain:
      // A multi-key command during a slot migration whose keys are split between the nodes:
      // the migration moves on; send again later.
      return back_off(retry_reason::tryagain, false);
    case resp::server_errc::clusterdown:
      return back_off(retry_reason::clusterdown, true);
    case resp::server_errc::readonly:
      return back_off(retry_reason::readonly, true);
    default:
      return d;  // not a cluster fault (never: the adapter counts only those)
  }
}

retry_decision decide_after_failure(send_failure failure, const retry_state& state,
                                    const retry_limits& limits) {
  retry_decision d;
  switch (failure) {
    case send_failure::not_sent: {
      d.refresh_topology = true;  // the node may be gone for good: a replica takes over
      const auto delay = backoff_delay(state.attempts, limits);
      if (state.elapsed + delay > limits.deadline) {
        d.reason = retry_reason::out_of_time;
        return d;
      }
      d.step = retry_step::backoff;
      d.reason = retry_reason::node_unreachable;
      d.delay = delay;
      return d;
    }
    case send_failure::outcome_unknown:
      d.reason = retry_reason::outcome_unknown;
      d.refresh_topology = true;
      return d;
    case send_failure::other:
      d.reason = retry_reason::failed;
      return d;
  }
  return d;
}

}  // namespace streamq::redis::cluster
