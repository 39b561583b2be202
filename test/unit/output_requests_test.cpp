// Tests of lib/streams/commands/output_requests.* (effectively-once: the commit script, the
// outbox's read and delete) with no server: replies fed as Redis sends them at every split
// point (request_harness.hpp), refusals classified, other shapes errc::malformed_entry with the
// output left empty; the commit's arguments read back one by one.
#include "request_harness.hpp"
#include "streams/commands/output_requests.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace resp = streamq::resp;
namespace streams = streamq::streams;
using namespace streamq::streams::detail;
using namespace request_harness;
using namespace std::chrono_literals;

namespace doctest {
template <>
struct StringMaker<commit_reply> {
  static String convert(const commit_reply& r) {
    return (std::to_string(static_cast<int>(r.status)) + "/" + std::to_string(r.direct) + "/" +
            std::to_string(r.queued))
        .c_str();
  }
};
}  // namespace doctest

namespace {
auto decode_commit = [](const resp::value& v, commit_reply& out) {
  return decode_commit_outputs(v, out);
};
auto decode_range = [](const resp::value& v, std::vector<outbox_entry>& out) {
  return decode_outbox_range(v, out);
};
auto decode_delete = [](const resp::value& v, std::uint64_t& out) {
  return decode_outbox_delete(v, out);
};
const commit_reply stale_commit{commit_status::committed, 9, 9};
const std::vector<outbox_entry> stale_entries{{"0-1", "stale", "x", "0-0"}};
}  // namespace

TEST_CASE("commit_outputs: committed with its counts, not owned, fenced off, errors, other shapes") {
  expect_decoded<commit_reply>("*3\r\n:1\r\n:2\r\n:1\r\n", stale_commit, decode_commit,
                               commit_reply{commit_status::committed, 2, 1});
  expect_decoded<commit_reply>("*1\r\n:0\r\n", stale_commit, decode_commit,
                               commit_reply{commit_status::not_owned, 0, 0});
  expect_decoded<commit_reply>("*1\r\n:2\r\n", stale_commit, decode_commit,
                               commit_reply{commit_status::duplicate, 0, 0});
  expect_refused<commit_reply>("*1\r\n:-1\r\n", stale_commit, decode_commit,
                               make_error_code(streams::errc::ownership_lost), "");
  expect_refused<commit_reply>(
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", stale_commit,
      decode_commit, resp::server_errc::wrongtype,
      "WRONGTYPE Operation against a key holding the wrong kind of value");
  expect_refused<commit_reply>(noscript, stale_commit, decode_commit, resp::server_errc::noscript,
                               noscript_text);
  for (std::string_view wrong : {
           "*1\r\n:1\r\n",                    // committed without counts
           "*3\r\n:0\r\n:1\r\n:1\r\n",        // not owned, with counts
           "*3\r\n:1\r\n:-1\r\n:1\r\n",       // a negative count
           "*3\r\n:1\r\n$1\r\nx\r\n:1\r\n",   // a count that is no number
           "*1\r\n:3\r\n",                    // an unknown flag
           "*3\r\n:2\r\n:1\r\n:1\r\n",        // a duplicate, with counts
           "*0\r\n", ":1\r\n", "_\r\n", "*-1\r\n", "$1\r\n1\r\n",
       })
    expect_malformed<commit_reply>(wrong, stale_commit, decode_commit);
}

TEST_CASE("commit_outputs: keys and arguments, fenced and not, in the input's slot") {
  const streams::topic_keys input("orders");
  const std::string processed = input.processed("billing"), outbox = input.outbox("billing");
  const std::vector<std::string> direct_streams{"streamq:{orders}:stream"};
  const std::vector<std::string> direct_envelopes{"E0"};
  const std::vector<std::string> outbox_topics{"invoices", "mail"};
  const std::vector<std::string> outbox_envelopes{"E1", "E2"};
  commit_request c;
  c.input = &input;
  c.group = "billing";
  c.consumer = "c-1";
  c.processed_key = processed;
  c.outbox_key = outbox;
  c.entry_id = "5-0";
  c.message_key = "order-5";
  c.remember_for = 60000ms;
  c.direct_streams = direct_streams;
  c.direct_envelopes = direct_envelopes;
  c.outbox_topics = outbox_topics;
  c.outbox_envelopes = outbox_envelopes;
  check_script_call([&](resp::request& r, bool s) { build_commit_outputs(r, s, c); },
                    {"4", input.stream(), processed, outbox, direct_streams[0], "billing", "c-1",
                     "5-0", "order-5", "60000", "", "0", "1", "v", "1", "e", "E0", "invoices",
                     "E1", "mail", "E2"});
  const ack_fence fence{input.lease("billing"), "member-1", 7};
  c.fence = &fence;
  c.direct_streams = {};
  c.direct_envelopes = {};
  check_script_call([&](resp::request& r, bool s) { build_commit_outputs(r, s, c); },
                    {"4", input.stream(), processed, outbox, fence.lease_key, "billing", "c-1",
                     "5-0", "order-5", "60000", "member-1", "7", "0", "v", "1", "e", "invoices",
                     "E1", "mail", "E2"});
  resp::request req;
  build_commit_outputs(req, false, c);
  CHECK(req.slot() == input.slot());
  // Outputs without their envelopes are a caller's bug, refused before anything is built.
  c.outbox_envelopes = std::span<const std::string>(outbox_envelopes).first(1);
  resp::request bad;
  CHECK_THROWS_AS(build_commit_outputs(bad, false, c), std::invalid_argument);
}

TEST_CASE("outbox: XRANGE entries with topic, envelope and input, unreadable ones kept unnamed") {
  resp::request req;
  build_outbox_range(req, "streamq:{orders}:outbox:g", "-", 128);
  CHECK(commands_of(req) == std::vector<args>{{"XRANGE", "streamq:{orders}:outbox:g", "-", "+",
                                               "COUNT", "128"}});
  expect_decoded<std::vector<outbox_entry>>(
      "*2\r\n"
      "*2\r\n$3\r\n1-0\r\n*6\r\n$1\r\nt\r\n$8\r\ninvoices\r\n$1\r\ne\r\n$2\r\nE1\r\n$1\r\ns\r\n$3\r\n5-0\r\n"
      "*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\ne\r\n$2\r\nE2\r\n",
      stale_entries, decode_range,
      std::vector<outbox_entry>{{"1-0", "invoices", "E1", "5-0"}, {"2-0", "", "E2", ""}});
  expect_decoded<std::vector<outbox_entry>>("*0\r\n", stale_entries, decode_range, {});
  expect_refused<std::vector<outbox_entry>>(
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", stale_entries,
      decode_range, resp::server_errc::wrongtype,
      "WRONGTYPE Operation against a key holding the wrong kind of value");
  for (std::string_view wrong : {
           "*1\r\n*2\r\n$3\r\n1-0\r\n*1\r\n$1\r\nt\r\n",  // odd fields
           "*1\r\n*1\r\n$3\r\n1-0\r\n",                       // no fields
           "*1\r\n$3\r\n1-0\r\n",                             // not an entry
           ":1\r\n", "_\r\n", "$1\r\nx\r\n",
       })
    expect_malformed<std::vector<outbox_entry>>(wrong, stale_entries, decode_range);
}

TEST_CASE("outbox: XDEL of the published entries") {
  const std::vector<std::string> ids{"1-0", "2-0"};
  resp::request req;
  build_outbox_delete(req, "streamq:{orders}:outbox:g", ids);
  CHECK(commands_of(req) ==
        std::vector<args>{{"XDEL", "streamq:{orders}:outbox:g", "1-0", "2-0"}});
  expect_decoded<std::uint64_t>(":2\r\n", 9, decode_delete, 2);
  expect_decoded<std::uint64_t>(":0\r\n", 9, decode_delete, 0);
  expect_refused<std::uint64_t>(oom, 9, decode_delete, resp::server_errc::oom, oom_text);
  for (std::string_view wrong : {":-1\r\n", "$1\r\n1\r\n", "_\r\n", "*1\r\n:1\r\n"})
    expect_malformed<std::uint64_t>(wrong, 9, decode_delete);
}
