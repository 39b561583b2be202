#pragma once
// What the consumer's read loop does once an XREADGROUP has completed, as a pure function: no
// I/O, no Asio. Unit-tested in test/unit/reading_rules_test.cpp; consume/consumer_impl.cpp's
// read loop only carries out the decision.

#include <streamq/streams/error.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace streamq::streams::detail {

enum class read_next : std::uint8_t {
  dispatch,        // the reply is sound: hand its entries (none after a BLOCK timeout) out
  read_again,      // after a short pause, read again
  recreate_group,  // the group or its stream vanished (Redis restarted empty, or someone
                   // deleted it): report the data loss, recreate the group, read again
  stop,            // the server refuses the read and will keep doing so (NOPERM,
                   // WRONGTYPE...): end run() with `report`
  reroute,         // a cluster: the topics' slot moved (MOVED, ASK), its node failed over
                   // (READONLY) or is unreachable, or the cluster is resharding or down
                   // (TRYAGAIN, CLUSTERDOWN): read the topology again and send each reader to
                   // the node that serves its slot now, then read again
};

struct read_decision {
  read_next what = read_next::dispatch;
  // What to tell people: a read_failed event (data_loss_detected for recreate_group). Empty:
  // nothing (connection trouble is waited out; the connection keeps its own last_error()).
  error_code report;
  // Drop the blocking connection's session and reconnect: its reply is overdue (presumably
  // half-open), or a reply had another shape than the command's, after which the boundaries
  // of the replies that follow cannot be trusted either.
  bool drop_session = false;
  // The read was written and may have run: entries it delivered are in this consumer's
  // pending list, unseen. Take them back before the next read.
  bool recover_own = false;
};

// `exec`: how the read's exec completed (a transport error, client_errc); `reply`: what the
// reply adapter found (stream_read_reply::error(): a classified server error, or
// errc::malformed_entry), looked at only when `exec` is clear; `session`: the connection's
// last_error() (why its last session ended), looked at only when `exec` is outcome_unknown: a
// reply the parser refused (a resp::parse_errc) ends the session, and the read learns only
// that its outcome is unknown.
// `clustered`: the read went to one node of a Redis Cluster, chosen by the topology known
// then; a transport failure may mean that node is gone, so the topics are regrouped (reroute)
// rather than read again on the same connection.
[[nodiscard]] read_decision after_read(const error_code& exec, const error_code& reply,
                                       const error_code& session, bool clustered = false) noexcept;

// Whether a read of a partition's topic (one naming its lease's read gate) that ended with
// `reply` may have met its gate gone: NOGROUP, or UNBLOCKED for a read blocked when the gate
// was deleted (Valkey answers that NOGROUP too). Then the gates are looked at before
// after_read: a gate gone means the lease was taken, which is neither data loss nor a moved
// slot. `exec`: the transport's outcome (a read that failed there met no gate).
[[nodiscard]] bool may_have_met_closed_gate(const error_code& exec,
                                            const error_code& reply) noexcept;

// The consumer's topics grouped by where they are read (`place_of_topic[t]`: "" for every
// topic standalone; in a cluster, topic t's hash slot, since one XREADGROUP may name streams
// of one slot only: CROSSSLOT otherwise, even on one node). One blocking reader per group;
// groups in the order of their first topic, topics in order within each. Empty for no topics.
[[nodiscard]] std::vector<std::vector<std::size_t>> group_topics(
    std::span<const std::string> place_of_topic);

// Whether `ec` is a resp::parse_errc: bytes that are not RESP, from a broken or hostile peer.
[[nodiscard]] bool is_parse_error(const error_code& ec) noexcept;

}  // namespace streamq::streams::detail
