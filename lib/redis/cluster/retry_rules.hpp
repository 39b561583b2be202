#pragma once
// What the cluster router does after one send of a request, decided from what its replies
// said (attempt_outcome) and how long it has been trying. Pure: no Asio, no clock.
//
// The safety rule: a request is resent only when nothing of it ran. That holds when every
// reply was a cluster fault (the server refused each command before running it), or when the
// request is one MULTI ... EXEC whose EXEC answered EXECABORT (a queued command was
// redirected: the server discarded the whole transaction). Any other mix means some command
// ran: the replies go to the caller as they came, redirection errors included, and the
// caller, who knows what the commands do, decides.

#include "redirect_adapter.hpp"
#include "redirection.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace streamq::redis::cluster {

struct retry_limits {
  unsigned max_attempts = 16;  // sends of one request, the first included
  std::chrono::milliseconds deadline{5000};
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{500};
};

struct retry_state {
  unsigned attempts = 1;                // sends so far, the one just answered included
  std::chrono::milliseconds elapsed{};  // since the request started
};

enum class retry_step : std::uint8_t {
  deliver,        // hand the replies to the caller (deliver() the held ones)
  resend,         // send again to `target` (MOVED: after updating the slot map)
  resend_asking,  // send ASKING + the request to `target`, once
  backoff,        // wait `delay`, then route again by the slot map and send
};

enum class retry_reason : std::uint8_t {
  no_fault,         // no cluster fault: the replies are the answer
  partly_ran,       // some command ran: never resent
  malformed,        // a MOVED/ASK whose text does not parse
  out_of_attempts,  // max_attempts sends made
  out_of_time,      // the next wait would pass the deadline
  moved,
  ask,
  tryagain,
  clusterdown,
  readonly,          // a write reached a replica: the master changed
  unknown_endpoint,  // MOVED/ASK to a node that could not say where it is
  node_unreachable,  // the connection to the node was down: nothing was written
  outcome_unknown,   // written, then the connection was lost: never resent
  failed,            // another error of the send: the caller gets it
};

struct retry_decision {
  retry_step step = retry_step::deliver;
  retry_reason reason = retry_reason::no_fault;
  redirection redirect;                // resend / resend_asking: where to
  bool update_slot_map = false;        // MOVED: slot_map::apply_moved(redirect.slot, target)
  bool refresh_topology = false;       // read the whole topology again, in the background
  std::chrono::milliseconds delay{};   // backoff
};

// `transaction`: is_single_transaction(request), asked only when a fault was seen.
// `origin_host`: the host of the node that answered (for MOVED/ASK to ":port").
[[nodiscard]] retry_decision decide_retry(const attempt_outcome& outcome, bool transaction,
                                          std::string_view origin_host, const retry_state& state,
                                          const retry_limits& limits);

// How a send failed without replies (the router maps the connection's error code).
enum class send_failure : std::uint8_t {
  not_sent,         // client_errc::not_connected: refused before writing, nothing ran
  outcome_unknown,  // client_errc::outcome_unknown: written, the connection was lost
  other,            // anything else (shut down, protocol error): not the router's to cure
};

// After a send that failed: a request that was never written waits (backoff) and goes
// again by a fresh topology, within the deadline; a written one completes with
// outcome_unknown (the topology is read again for those after it); anything else completes
// with its error. `step` is deliver (complete with the error) or backoff.
[[nodiscard]] retry_decision decide_after_failure(send_failure failure, const retry_state& state,
                                                  const retry_limits& limits);

// initial_backoff doubled per earlier backoff, capped at max_backoff: the wait after the
// `attempts`-th send.
[[nodiscard]] std::chrono::milliseconds backoff_delay(unsigned attempts,
                                                      const retry_limits& limits) noexcept;

}  // namespace streamq::redis::cluster
