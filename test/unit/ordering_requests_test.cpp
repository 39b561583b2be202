// Tests of lib/streams/commands/ordering_requests.*: the retry-set read and the per-ID XRANGE
// pipeline that per-key ordering loads at start, on reply fixtures. No server.
#include "streams/commands/ordering_requests.hpp"

#include <streamq/resp/error.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace streamq::streams::detail;
namespace resp = streamq::resp;

namespace {
resp::value text(std::string s) {
  resp::value v;
  v.data_type = resp::type::blob_string;
  v.text = std::move(s);
  return v;
}
resp::value array(std::vector<resp::value> elements) {
  resp::value v;
  v.data_type = resp::type::array;
  v.elements = std::move(elements);
  return v;
}
resp::value error(std::string s) {
  resp::value v;
  v.data_type = resp::type::simple_error;
  v.text = std::move(s);
  return v;
}
}  // namespace

TEST_CASE("ordering requests: ZRANGE of the retry set") {
  resp::request req;
  build_waiting_retries(req, "streamq:{t}:retry:g", 100);
  CHECK(req.command_count() == 1);
  CHECK(req.payload().find("ZRANGE") != std::string_view::npos);
  std::vector<std::string> ids{"stale"};
  CHECK(decode_waiting_retries(array({text("1-0"), text("2-0")}), ids));
  CHECK(ids == std::vector<std::string>{"1-0", "2-0"});
  CHECK(decode_waiting_retries(array({}), ids));
  CHECK(ids.empty());
  const auto refused = decode_waiting_retries(error("WRONGTYPE not a set"), ids);
  CHECK(refused.ec == resp::server_errc::wrongtype);
  CHECK(ids.empty());
  CHECK(decode_waiting_retries(array({array({})}), ids).ec == streamq::streams::errc::malformed_entry);
  CHECK(ids.empty());
}

TEST_CASE("ordering requests: XRANGE per ID, an entry or nothing each") {
  const std::vector<std::string> ids{"1-0", "2-0"};
  resp::request req;
  build_entries_by_id(req, "streamq:{t}:stream", ids);
  CHECK(req.command_count() == 2);
  std::vector<entry_by_id> out;
  const std::vector<resp::value> replies{
      array({array({text("1-0"), array({text("v"), text("1"), text("e"), text("x")})})}),
      array({})};
  REQUIRE(decode_entries_by_id(replies, ids, out));
  REQUIRE(out.size() == 2);
  CHECK(out[0].id == "1-0");
  CHECK(out[0].fields == std::vector<std::string>{"v", "1", "e", "x"});
  CHECK(out[1].fields.empty());  // gone

  const std::vector<resp::value> wrong_id{
      array({array({text("9-9"), array({text("v"), text("1")})})}), array({})};
  CHECK(decode_entries_by_id(wrong_id, ids, out).ec == streamq::streams::errc::malformed_entry);
  CHECK(out.empty());
  const std::vector<resp::value> odd{
      array({array({text("1-0"), array({text("v")})})}), array({})};
  CHECK(decode_entries_by_id(odd, ids, out).ec == streamq::streams::errc::malformed_entry);
  const std::vector<resp::value> refused{array({}), error("NOPERM no")};
  CHECK(decode_entries_by_id(refused, ids, out).ec == resp::server_errc::noperm);
  CHECK(out.empty());
  CHECK(decode_entries_by_id(std::span(replies).first(1), ids, out).ec ==
        streamq::streams::errc::malformed_entry);
}
