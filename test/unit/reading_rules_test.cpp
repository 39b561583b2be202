// The read loop's rule (lib/streams/sansio/reading.hpp), with no server and no io_context: what
// follows each way an XREADGROUP can complete.
#include "streams/sansio/reading.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/streams/error.hpp>

#include <boost/asio/error.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints error codes with it
#include <string>
#include <vector>

using namespace streamq::streams;
using namespace streamq::streams::detail;
using streamq::redis::client_errc;
using streamq::resp::parse_errc;
using streamq::resp::server_errc;

namespace {
const error_code none;
const error_code parse_error = std::error_code(parse_errc::invalid_type_byte);
const error_code reset = boost::asio::error::connection_reset;
}  // namespace

TEST_CASE("a sound reply, with entries or after a BLOCK timeout, is dispatched") {
  const auto next = after_read(none, none, none);
  CHECK(next.what == read_next::dispatch);
  CHECK_FALSE(next.report);
  CHECK_FALSE(next.drop_session);
  CHECK_FALSE(next.recover_own);
  // What ended an earlier session does not matter to a read that went through.
  CHECK(after_read(none, none, parse_error).what == read_next::dispatch);
}

TEST_CASE("connection trouble: read again - a read that was written is recovered") {
  // Not written (not connected): it never ran.
  const auto unsent = after_read(client_errc::not_connected, none, reset);
  CHECK(unsent.what == read_next::read_again);
  CHECK_FALSE(unsent.report);
  CHECK_FALSE(unsent.drop_session);
  CHECK_FALSE(unsent.recover_own);
  // Written, then the connection was lost: its entries may be ours now.
  const auto lost = after_read(client_errc::outcome_unknown, none, reset);
  CHECK(lost.what == read_next::read_again);
  CHECK_FALSE(lost.report);
  CHECK_FALSE(lost.drop_session);  // the session has ended already
  CHECK(lost.recover_own);
  // Overdue by far: presumed half-open, dropped.
  const auto overdue = after_read(client_errc::timeout, none, none);
  CHECK(overdue.what == read_next::read_again);
  CHECK_FALSE(overdue.report);
  CHECK(overdue.drop_session);
  CHECK(overdue.recover_own);
  // The reply adapter's state means nothing when the exec failed.
  CHECK(after_read(client_errc::not_connected, errc::malformed_entry, none).what ==
        read_next::read_again);
  CHECK_FALSE(after_read(client_errc::not_connected, server_errc::noperm, none).report);
}

TEST_CASE("a reply the parser refused ended the session: reported, recovered, read again") {
  const auto next = after_read(client_errc::outcome_unknown, none, parse_error);
  CHECK(next.what == read_next::read_again);
  CHECK(next.report == parse_errc::invalid_type_byte);
  CHECK_FALSE(next.drop_session);
  CHECK(next.recover_own);
  // Handed over directly, the session is dropped too: the stream cannot be resynchronised.
  const auto direct = after_read(parse_error, none, none);
  CHECK(direct.what == read_next::read_again);
  CHECK(direct.report == parse_errc::invalid_type_byte);
  CHECK(direct.drop_session);
  CHECK(direct.recover_own);
  CHECK(is_parse_error(parse_error));
  CHECK_FALSE(is_parse_error(none));
  CHECK_FALSE(is_parse_error(reset));
  CHECK_FALSE(is_parse_error(error_code(errc::malformed_entry)));
  CHECK_FALSE(is_parse_error(error_code(std::error_code(server_errc::generic))));
}

TEST_CASE("a reply of another shape: reported, session dropped, recovered, read again") {
  const auto next = after_read(none, errc::malformed_entry, none);
  CHECK(next.what == read_next::read_again);
  CHECK(next.report == errc::malformed_entry);
  CHECK(next.drop_session);
  CHECK(next.recover_own);
}

TEST_CASE("the group or stream vanished: recreated - lasting refusals end run()") {
  for (const auto code : {server_errc::nogroup, server_errc::unblocked}) {
    const auto next = after_read(none, std::error_code(code), none);
    CHECK(next.what == read_next::recreate_group);
    CHECK(next.report == code);
    CHECK_FALSE(next.drop_session);
    CHECK_FALSE(next.recover_own);
  }
  for (const auto code : {server_errc::noperm, server_errc::wrongtype, server_errc::generic}) {
    const auto next = after_read(none, std::error_code(code), none);
    CHECK(next.what == read_next::stop);
    CHECK(next.report == code);
    CHECK_FALSE(next.drop_session);
  }
}

TEST_CASE("a refusal that passes is reported and read again - run() goes on") {
  // LOADING after a restart, a BUSY script, a master without its replicas: nothing ran.
  for (const auto code : {server_errc::loading, server_errc::busy, server_errc::masterdown,
                          server_errc::noreplicas}) {
    CAPTURE(static_cast<int>(code));
    const auto next = after_read(none, std::error_code(code), none);
    CHECK(next.what == read_next::read_again);
    CHECK(next.report == code);
    CHECK_FALSE(next.drop_session);
    CHECK_FALSE(next.recover_own);
  }
}

TEST_CASE("a cluster fault on a read regroups the topics by the nodes that serve them now") {
  for (const auto fault : {server_errc::moved, server_errc::ask, server_errc::readonly,
                           server_errc::tryagain, server_errc::clusterdown}) {
    CAPTURE(static_cast<int>(fault));
    const auto next = after_read(none, std::error_code(fault), none, /*clustered=*/true);
    CHECK(next.what == read_next::reroute);
    CHECK_FALSE(next.report);        // the read was refused whole: nothing to tell, nothing lost
    CHECK_FALSE(next.recover_own);
    CHECK_FALSE(next.drop_session);
  }
  // A stream migrated away releases the read on its old master with UNBLOCKED: rerouted, not
  // reported as a loss (the new master answers NOGROUP if the group is really gone).
  const auto migrated = after_read(none, std::error_code(server_errc::unblocked), none, true);
  CHECK(migrated.what == read_next::reroute);
  CHECK_FALSE(migrated.report);
  CHECK(after_read(none, std::error_code(server_errc::unblocked), none).what ==
        read_next::recreate_group);
  // Other refusals keep their meaning in a cluster.
  CHECK(after_read(none, std::error_code(server_errc::noperm), none, true).what ==
        read_next::stop);
  CHECK(after_read(none, std::error_code(server_errc::nogroup), none, true).what ==
        read_next::recreate_group);
}

TEST_CASE("in a cluster, connection trouble regroups too: the node may be gone") {
  const auto unsent = after_read(client_errc::not_connected, none, reset, /*clustered=*/true);
  CHECK(unsent.what == read_next::reroute);
  CHECK_FALSE(unsent.recover_own);
  const auto lost = after_read(client_errc::outcome_unknown, none, reset, true);
  CHECK(lost.what == read_next::reroute);
  CHECK(lost.recover_own);
  const auto overdue = after_read(client_errc::timeout, none, none, true);
  CHECK(overdue.what == read_next::reroute);
  CHECK(overdue.drop_session);
  // A hostile reply is the peer's fault, not the topology's: read again, reported.
  const auto hostile = after_read(client_errc::outcome_unknown, none, parse_error, true);
  CHECK(hostile.what == read_next::read_again);
  CHECK(hostile.report == parse_errc::invalid_type_byte);
  // Standalone, the same failures read again on the same connection.
  CHECK(after_read(client_errc::not_connected, none, reset).what == read_next::read_again);
}

TEST_CASE("group_topics: one reader per place, topics in order") {
  const std::vector<std::string> standalone{"", "", ""};
  CHECK(group_topics(standalone) == std::vector<std::vector<std::size_t>>{{0, 1, 2}});
  const std::vector<std::string> slots{"7000", "15495", "7000", "3300", "15495"};
  CHECK(group_topics(slots) == std::vector<std::vector<std::size_t>>{{0, 2}, {1, 4}, {3}});
  CHECK(group_topics(std::vector<std::string>{}).empty());
}

TEST_CASE("a partition's read refused NOGROUP or UNBLOCKED may have met its read gate gone") {
  CHECK(may_have_met_closed_gate({}, make_error_code(server_errc::nogroup)));
  CHECK(may_have_met_closed_gate({}, make_error_code(server_errc::unblocked)));
  // Anything else, or a read that failed in transport, met no gate.
  CHECK_FALSE(may_have_met_closed_gate({}, {}));
  CHECK_FALSE(may_have_met_closed_gate({}, make_error_code(server_errc::noperm)));
  CHECK_FALSE(may_have_met_closed_gate({}, make_error_code(server_errc::moved)));
  CHECK_FALSE(may_have_met_closed_gate(make_error_code(client_errc::outcome_unknown),
                                       make_error_code(server_errc::nogroup)));
}
