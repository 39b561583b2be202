// Tests of lib/redis/cluster/redirection.* (the MOVED/ASK parser), with no server: the error
// texts a real Redis 7.0 cluster sent (every endpoint form: IP, hostname, "" and "?", IPv6),
// read through resp::parser as a connection does, and every other text refused.
#include "redis/cluster/redirection.hpp"
#include "redis/cluster/topology.hpp"
#include "reply_harness.hpp"

#include <streamq/resp/error.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with it
#include <string>
#include <string_view>
#include <system_error>

namespace resp = streamq::resp;
namespace cluster = streamq::redis::cluster;
using cluster::cluster_errc;
using cluster::node_address;
using cluster::redirect_kind;
using cluster::redirection;

namespace {

// The text of a captured error reply: what resp::result::diagnostic() holds.
std::string error_text(std::string_view bytes) {
  resp::generic_response r;
  REQUIRE(reply_harness::feed(bytes, {}, r) == 1);
  const resp::value& v = r.values().at(0);
  REQUIRE(v.is_error());
  return v.text;
}

redirection parsed(std::string_view text, std::string_view origin_host = "seed") {
  redirection r;
  r.slot = 1;
  const auto ec = cluster::parse_redirection(text, origin_host, r);
  CHECK_MESSAGE(!ec, text);
  return r;
}

}  // namespace

TEST_CASE("redirections: MOVED and ASK as Redis sends them, every endpoint form") {
  // Captured from the cluster above: its slot 12706 on 31103, then migrating to 31101.
  const auto moved = error_text("-MOVED 12706 127.0.0.1:31103\r\n");
  CHECK(resp::classify_server_error(moved) == resp::server_errc::moved);
  CHECK(parsed(moved) == redirection{redirect_kind::moved, 12706, {"127.0.0.1", 31103}, true});
  const auto ask = error_text("-ASK 12706 127.0.0.1:31101\r\n");
  CHECK(resp::classify_server_error(ask) == resp::server_errc::ask);
  CHECK(parsed(ask) == redirection{redirect_kind::ask, 12706, {"127.0.0.1", 31101}, true});
  // unknown-endpoint: the host the command was sent to.
  CHECK(parsed("MOVED 12706 :31103", "10.1.2.3") ==
        redirection{redirect_kind::moved, 12706, {"10.1.2.3", 31103}, true});
  // Hostname preferred but not announced: nowhere to go until a new topology says.
  CHECK(parsed("MOVED 12706 ?:31103") ==
        redirection{redirect_kind::moved, 12706, {"", 31103}, false});
  CHECK(parsed("MOVED 12706 localhost:31103").target == node_address{"localhost", 31103});
  // IPv6: Redis writes no brackets (captured from a cluster bound to ::1); both forms read.
  CHECK(parsed("MOVED 12706 ::1:31023").target == node_address{"::1", 31023});
  CHECK(parsed("ASK 0 [::1]:31023") == redirection{redirect_kind::ask, 0, {"::1", 31023}, true});
  CHECK(parsed("ASK 16383 [fe80::1%eth0]:6379").target == node_address{"fe80::1%eth0", 6379});
  CHECK(cluster::to_string(node_address{"::1", 6379}) == "[::1]:6379");
  CHECK(cluster::to_string(node_address{"h", 1}) == "h:1");
}

TEST_CASE("redirections: any other text is malformed_redirection and leaves the output alone") {
  for (const std::string_view text : {"",
                                      "MOVED",
                                      "MOVED 1",
                                      "MOVED 1 ",
                                      "MOVED 1 h",
                                      "MOVED x h:1",
                                      "MOVED -1 h:1",
                                      "MOVED +1 h:1",
                                      "MOVED 16384 h:1",
                                      "MOVED 99999999 h:1",
                                      "MOVED 1 h:0",
                                      "MOVED 1 h:65536",
                                      "MOVED 1 h:x",
                                      "MOVED 1 h:",
                                      "MOVED 1 h:1 extra",
                                      "MOVED  1 h:1",
                                      "MOVED 1  h:1",
                                      "MOVED 1 h:1\r\n",
                                      "moved 1 h:1",
                                      "ASKING 1 h:1",
                                      "TRYAGAIN Multiple keys request",
                                      "CLUSTERDOWN The cluster is down",
                                      "ASK 1 [::1:5",
                                      "ASK 1 []:5",
                                      "ASK 1 ::1]:5",
                                      "ASK 1 [::1]x:5"}) {
    INFO("text: " << text);
    redirection r{redirect_kind::ask, 7, {"kept", 9}, true};
    CHECK(cluster::parse_redirection(text, "seed", r) == cluster_errc::malformed_redirection);
    CHECK(r == redirection{redirect_kind::ask, 7, {"kept", 9}, true});
  }
  CHECK(std::error_code(cluster_errc::malformed_redirection).message().find("MOVED") !=
        std::string::npos);
  CHECK(std::string(cluster::cluster_category().name()) == "streamq.redis.cluster");
}
