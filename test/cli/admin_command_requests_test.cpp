// commands/admin_command_requests (lib/streams): the decoders of the streamq command's own
// requests (trim --dry-run's plan, tail's XREAD), with no server.
#include "commands/admin_command_requests.hpp"

#include <streamq/resp/error.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {
streamq::resp::value text(std::string t) {
  return {streamq::resp::type::blob_string, std::move(t), {}};
}
streamq::resp::value array(std::vector<streamq::resp::value> elements,
                           streamq::resp::type kind = streamq::resp::type::array) {
  return {kind, {}, std::move(elements)};
}
}  // namespace

TEST_CASE("decode_trim_plan: the script's four strings, anything else malformed") {
  namespace sd = streamq::streams::detail;
  sd::trim_plan plan;
  CHECK(sd::decode_trim_plan(array({text("5-0"), text("max_age"), text("3-0"), text("billing")}),
                             plan));
  CHECK(plan == sd::trim_plan{"5-0", "max_age", "3-0", "billing"});
  CHECK_FALSE(sd::decode_trim_plan(array({text("5-0")}), plan));
  CHECK(plan == sd::trim_plan{});
  const streamq::resp::value refused{streamq::resp::type::simple_error, "NOPERM no", {}};
  const auto r = sd::decode_trim_plan(refused, plan);
  CHECK(r.ec == streamq::resp::server_errc::noperm);
}

TEST_CASE("decode_tail_read: nothing in time, RESP3 map and RESP2 array shapes") {
  namespace sd = streamq::streams::detail;
  std::vector<sd::stream_entry> entries{{"x", {}}};
  CHECK(sd::decode_tail_read(streamq::resp::value{}, entries));
  CHECK(entries.empty());
  const auto page = array({array({text("1-0"), array({text("v"), text("1")})})});
  CHECK(sd::decode_tail_read(array({text("s"), page}, streamq::resp::type::map), entries));
  CHECK(entries == std::vector<sd::stream_entry>{{"1-0", {"v", "1"}}});
  CHECK(sd::decode_tail_read(array({array({text("s"), page})}), entries));
  CHECK(entries.size() == 1);
  CHECK_FALSE(sd::decode_tail_read(text("junk"), entries));
  CHECK(entries.empty());
}
