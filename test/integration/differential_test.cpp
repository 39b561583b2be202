// Differential test of lib/resp/parser.cpp against a real redis-server: raw reply bytes are
// captured on a plain blocking socket, then parsed by streamq (whole and split) and, for
// RESP2, by hiredis' reader; both must see the same replies, byte for byte.

#include "support/redis_server.hpp"

#include <streamq/resp/parser.hpp>
#include <streamq/resp/value.hpp>

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace resp = streamq::resp;
using command = std::vector<std::string>;

namespace {

std::string escape(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\')
      (out += '\\') += c;
    else if (u < 0x20 || u >= 0x7f)
      (out += "\\x") += std::string{hex[u >> 4], hex[u & 15]};
    else
      out += c;
  }
  return out;
}

// Replies one per line, so a failed CHECK prints them.
std::string joined(const std::vector<std::string>& replies) {
  std::string out;
  for (const auto& r : replies) out += r + "\n";
  return out;
}

std::string encode(const std::vector<command>& commands) {
  std::string out;
  for (const auto& args : commands) {
    out += "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  }
  return out;
}

// A blocking loopback TCP connection that knows nothing of RESP beyond writing commands.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
    }
  }
  ~raw_connection() { ::close(fd_); }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // Sends `commands` in one write and returns the raw bytes of their replies. Framing needs
  // no parser: an ECHO of a unique token goes last, and its reply ends the stream.
  std::string exchange(const std::vector<command>& commands) {
    const std::string token = "sentinel-" + std::to_string(++sentinels_) + "-9f2c41d07be3";
    auto all = commands;
    all.push_back({"ECHO", token});
    send_all(encode(all));
    const std::string end = "$" + std::to_string(token.size()) + "\r\n" + token + "\r\n";
    std::string received;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::string_view(received).ends_with(end)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        throw std::runtime_error("no complete reply within 10 s");
      char chunk[16384];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) throw std::runtime_error("connection closed");
      received.append(chunk, static_cast<std::size_t>(n));
    }
    received.resize(received.size() - end.size());
    return received;
  }

 private:
  void send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  int fd_;
  int sentinels_ = 0;
};

// hiredis and streamq replies in one notation: S"..." status, E"..." error, B"..." bulk,
// I<n> integer, N nil, [a, b] array.
std::string render_hiredis(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STATUS:
      return "S\"" + escape({r.str, r.len}) + "\"";
    case REDIS_REPLY_ERROR:
      return "E\"" + escape({r.str, r.len}) + "\"";
    case REDIS_REPLY_STRING:
      return "B\"" + escape({r.str, r.len}) + "\"";
    case REDIS_REPLY_INTEGER:
      return "I" + std::to_string(r.integer);
    case REDIS_REPLY_NIL:
      return "N";
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (std::size_t i = 0; i < r.elements; ++i)
        out += (i ? ", " : "") + render_hiredis(*r.element[i]);
      return out + "]";
    }
    default:
      return "?" + std::to_string(r.type);
  }
}

std::string render_streamq(const resp::value& v) {
  switch (v.data_type) {
    case resp::type::simple_string:
      return "S\"" + escape(v.text) + "\"";
    case resp::type::simple_error:
      return "E\"" + escape(v.text) + "\"";
    case resp::type::blob_string:
      return "B\"" + escape(v.text) + "\"";
    case resp::type::integer:
      return "I" + v.text;
    case resp::type::null:
      return "N";
    case resp::type::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.elements.size(); ++i)
        out += (i ? ", " : "") + render_streamq(v.elements[i]);
      return out + "]";
    }
    default:
      return "RESP3:" + std::string(resp::to_string(v.data_type));  // not in RESP2
  }
}

std::vector<std::string> parse_hiredis(std::string_view bytes) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  REQUIRE(redisReaderFeed(reader.get(), bytes.data(), bytes.size()) == REDIS_OK);
  std::vector<std::string> replies;
  while (true) {
    void* reply = nullptr;
    REQUIRE(redisReaderGetReply(reader.get(), &reply) == REDIS_OK);
    if (reply == nullptr) break;
    replies.push_back(render_hiredis(*static_cast<redisReply*>(reply)));
    freeReplyObject(reply);
  }
  return replies;
}

// streamq's parser fed like a socket reader: `bytes` arrive in chunks ending at `cuts`.
// Returns one rendering per reply (`render`: values for RESP2, node lists for RESP3).
template <class Render>
std::vector<std::string> parse_streamq(std::string_view bytes, std::vector<std::size_t> cuts,
                                       Render render) {
  cuts.push_back(bytes.size());
  resp::parser p;
  resp::value_builder builder;
  std::vector<std::string> replies;
  std::string buffer, nodes;
  std::size_t fed = 0;
  for (const std::size_t cut : cuts) {
    buffer.append(bytes.substr(fed, cut - fed));
    fed = cut;
    while (true) {
      std::error_code ec;
      const auto n = p.consume(buffer, ec);
      REQUIRE_FALSE(ec);
      if (!n) break;
      nodes += std::string(nodes.empty() ? "" : " ") + std::string(resp::to_string(n->data_type)) +
               "@" + std::to_string(n->depth);
      if (resp::is_aggregate(n->data_type))
        nodes += "[" + std::to_string(n->aggregate_size) + "]";
      else if (n->data_type != resp::type::null)
        nodes += "=\"" + escape(n->value) + "\"";
      const bool complete = builder.on_node(*n);
      CHECK(complete == p.done());
      buffer.erase(0, p.consumed());
      if (complete) {
        replies.push_back(render(builder.result(), nodes));
        nodes.clear();
      }
    }
  }
  CHECK(buffer.empty());
  return replies;
}

// Every split point for small captures; an even spread of them for large ones.
std::vector<std::size_t> split_points(std::size_t size) {
  std::vector<std::size_t> points;
  const std::size_t step = size <= 2048 ? 1 : size / 97;
  for (std::size_t i = 0; i < size; i += step) points.push_back(i);
  return points;
}

std::string value_form(const resp::value& v, const std::string&) {
  return render_streamq(v);
}
std::string node_form(const resp::value&, const std::string& nodes) {
  return nodes;
}

// hiredis and streamq must agree on `bytes`, whole and at every split; returns the replies.
std::vector<std::string> check_resp2(std::string_view bytes, std::size_t expected_replies) {
  INFO("capture: " << escape(bytes.substr(0, 300)));
  const auto reference = parse_hiredis(bytes);
  CHECK(reference.size() == expected_replies);
  const auto whole = parse_streamq(bytes, {}, value_form);
  CHECK(joined(whole) == joined(reference));
  for (const std::size_t cut : split_points(bytes.size())) {
    INFO("split at " << cut);
    CHECK(joined(parse_streamq(bytes, {cut}, value_form)) == joined(reference));
  }
  REQUIRE(whole.size() == expected_replies);
  return whole;
}

// RESP3: streamq's nodes must be `expected` (one string per reply) at every split point.
void check_resp3(std::string_view bytes, const std::vector<std::string>& expected) {
  INFO("capture: " << escape(bytes.substr(0, 300)));
  CHECK(joined(parse_streamq(bytes, {}, node_form)) == joined(expected));
  for (const std::size_t cut : split_points(bytes.size())) {
    INFO("split at " << cut);
    CHECK(joined(parse_streamq(bytes, {cut}, node_form)) == joined(expected));
  }
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("differential: RESP2 strings, numbers, lists, hashes, sets, sorted sets") {
  streamq::test::redis_server server;
  raw_connection c(server.port());
  const std::string k = streamq::test::unique_key_prefix("differential-basic");

  auto r = check_resp2(c.exchange({{"SET", k + "s", "hello"},
                                   {"GET", k + "s"},
                                   {"GET", k + "missing"},
                                   {"SET", k + "empty", ""},
                                   {"GET", k + "empty"},
                                   {"MGET", k + "s", k + "missing"}}),
                       6);
  CHECK(r[0] == "S\"OK\"");
  CHECK(r[1] == "B\"hello\"");
  CHECK(r[2] == "N");
  CHECK(r[4] == "B\"\"");
  CHECK(r[5] == "[B\"hello\", N]");

  r = check_resp2(c.exchange({{"INCR", k + "n"},
                              {"INCRBY", k + "n", "-100"},
                              {"INCRBY", k + "big", "9223372036854775807"},
                              {"PING"}}),
                  4);
  CHECK(r[1] == "I-99");
  CHECK(r[2] == "I9223372036854775807");
  CHECK(r[3] == "S\"PONG\"");

  r = check_resp2(c.exchange({{"LPUSH", k + "l", "a", "b\r\nc", "d"},
                              {"LRANGE", k + "l", "0", "-1"},
                              {"LRANGE", k + "none", "0", "-1"},
                              {"HSET", k + "h", "f1", "v1", "f2", "v2"},
                              {"HGETALL", k + "h"},
                              {"SADD", k + "set", "x", "y", "z"},
                              {"SMEMBERS", k + "set"},
                              {"ZADD", k + "z", "1.5", "a", "-2", "b", "inf", "c"},
                              {"ZRANGE", k + "z", "0", "-1", "WITHSCORES"}}),
                  9);
  CHECK(r[1] == "[B\"d\", B\"b\\x0d\\x0ac\", B\"a\"]");
  CHECK(r[2] == "[]");
  CHECK(r[4] == "[B\"f1\", B\"v1\", B\"f2\", B\"v2\"]");
  CHECK(r[8] == "[B\"b\", B\"-2\", B\"a\", B\"1.5\", B\"c\", B\"inf\"]");

  r = check_resp2(c.exchange({{"INCR", k + "l"}, {"NOSUCHCOMMAND", "x"}, {"GET"}}), 3);
  CHECK(r[0].starts_with("E\"WRONGTYPE "));
  CHECK(r[1].starts_with("E\"ERR unknown command"));
  CHECK(r[2].starts_with("E\"ERR wrong number of arguments"));
}

TEST_CASE("differential: RESP2 streams and consumer groups") {
  streamq::test::redis_server server;
  raw_connection c(server.port());
  const std::string s = streamq::test::unique_key_prefix("differential-streams") + "s";

  auto r = check_resp2(c.exchange({{"XADD", s, "1-1", "field", "value", "n", "1"},
                                   {"XADD", s, "*", "binary", std::string("\0\r\n\xff", 4)},
                                   {"XRANGE", s, "-", "+"},
                                   {"XREAD", "COUNT", "1", "STREAMS", s, "$"},
                                   {"XREADGROUP", "GROUP", "nogroup", "c", "STREAMS", s, ">"},
                                   {"XGROUP", "CREATE", s, "g", "0"},
                                   {"XGROUP", "CREATE", s, "g", "0"}}),
                       7);
  CHECK(r[0] == "B\"1-1\"");
  CHECK(contains(r[2], "[B\"1-1\", [B\"field\", B\"value\", B\"n\", B\"1\"]]"));
  CHECK(r[3] == "N");  // RESP2 null array
  CHECK(r[4].starts_with("E\"NOGROUP "));
  CHECK(r[5] == "S\"OK\"");
  CHECK(r[6].starts_with("E\"BUSYGROUP "));

  r = check_resp2(
      c.exchange({{"XREADGROUP", "GROUP", "g", "alice", "COUNT", "10", "STREAMS", s, ">"},
                  {"XREADGROUP", "GROUP", "g", "bob", "STREAMS", s, ">"},
                  {"XPENDING", s, "g"},
                  {"XPENDING", s, "g", "-", "+", "10"},
                  {"XINFO", "STREAM", s},
                  {"XINFO", "GROUPS", s},
                  {"XACK", s, "g", "1-1"},
                  {"XAUTOCLAIM", s, "g", "bob", "0", "0-0"}}),
      8);
  CHECK(r[0].starts_with("[[B\"" + s + "\", [[B\"1-1\""));
  CHECK(r[1] == "N");
  CHECK(r[2].starts_with("[I2, B\"1-1\", B\""));
  CHECK(contains(r[2], "[[B\"alice\", B\"2\"]]"));
  CHECK(r[6] == "I1");
}

TEST_CASE("differential: RESP2 transactions, big values and server introspection") {
  streamq::test::redis_server server;
  raw_connection c(server.port());
  const std::string k = streamq::test::unique_key_prefix("differential-misc");

  auto r = check_resp2(c.exchange({{"MULTI"},
                                   {"SET", k + "a", "1"},
                                   {"INCR", k + "a"},
                                   {"LPUSH", k + "l", "x"},
                                   {"LRANGE", k + "l", "0", "-1"},
                                   {"INCR", k + "l"},
                                   {"EXEC"}}),
                       7);
  CHECK(r[1] == "S\"QUEUED\"");
  CHECK(r[6].starts_with("[S\"OK\", I2, I1, [B\"x\"], E\"WRONGTYPE "));
  r = check_resp2(c.exchange({{"MULTI"}, {"NOSUCHCOMMAND"}, {"EXEC"}, {"EXEC"}}), 4);
  CHECK(r[2].starts_with("E\"EXECABORT "));
  CHECK(r[3].starts_with("E\"ERR EXEC without MULTI"));

  std::string big(100 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7 + i / 251) % 256);
  big.replace(1000, 2, "\r\n");
  const std::string captured = c.exchange({{"SET", k + "big", big}, {"GET", k + "big"}});
  r = check_resp2(captured, 2);
  CHECK(r[1] == "B\"" + escape(big) + "\"");
  // the payload is the stored value, byte for byte
  resp::parser p;
  std::error_code ec;
  std::string_view rest(captured);
  REQUIRE(p.consume(rest, ec));
  rest.remove_prefix(p.consumed());
  const auto n = p.consume(rest, ec);
  REQUIRE(n);
  CHECK(n->value == big);

  r = check_resp2(c.exchange({{"CONFIG", "GET", "maxmemory*"},
                              {"COMMAND", "INFO", "GET", "XREADGROUP"},
                              {"CLIENT", "INFO"},
                              {"CLIENT", "SETNAME", "differential"},
                              {"CLIENT", "LIST"},
                              {"INFO", "server"},
                              {"DBSIZE"}}),
                  7);
  CHECK(contains(r[0], "B\"maxmemory\""));
  CHECK(r[1].starts_with("[[B\"get\", I2, ["));
  CHECK(contains(r[2], "cmd=client|info"));
  CHECK(contains(r[4], "name=differential"));
}

TEST_CASE("differential: RESP3 types from DEBUG PROTOCOL at every split point") {
  streamq::test::redis_server server;
  raw_connection c(server.port());
  const auto hello = c.exchange({{"HELLO", "3"}});
  CHECK(hello.starts_with("%"));
  check_resp3(hello, {parse_streamq(hello, {}, node_form).at(0)});

  auto debug = [&](const char* type) { return c.exchange({{"DEBUG", "PROTOCOL", type}}); };
  check_resp3(debug("attrib"), {"attribute@0[1] blob_string@1=\"key-popularity\" array@1[2] "
                                "blob_string@2=\"key:123\" integer@2=\"90\" "
                                "blob_string@0=\"Some real reply following the attribute\""});
  {
    // Redis 7.0 sends the push before the reply, Valkey 8.0 after it: either order is valid
    // RESP3, and streamq must parse what arrived in that order.
    const auto bytes = debug("push");
    std::vector<std::string> expected{
        "push@0[2] blob_string@1=\"server-cpu-usage\" integer@1=\"42\"",
        "blob_string@0=\"Some real reply following the push reply\""};
    if (!bytes.starts_with(">")) std::swap(expected[0], expected[1]);
    check_resp3(bytes, expected);
  }
  check_resp3(debug("map"), {"map@0[3] integer@1=\"0\" boolean@1=\"f\" integer@1=\"1\" "
                             "boolean@1=\"t\" integer@1=\"2\" boolean@1=\"f\""});
  check_resp3(debug("set"), {"set@0[3] integer@1=\"0\" integer@1=\"1\" integer@1=\"2\""});
  check_resp3(debug("double"), {"double@0=\"3.141\""});
  check_resp3(debug("bignum"), {"big_number@0=\"1234567999999999999999999999999999999\""});
  check_resp3(debug("verbatim"), {"verbatim_string@0=\"This is a verbatim\\x0astring\""});
  check_resp3(debug("true"), {"boolean@0=\"t\""});
  check_resp3(debug("false"), {"boolean@0=\"f\""});
  check_resp3(debug("null"), {"null@0"});

  // all of them in one pipelined capture
  const auto all = c.exchange({{"DEBUG", "PROTOCOL", "attrib"},
                               {"DEBUG", "PROTOCOL", "push"},
                               {"DEBUG", "PROTOCOL", "null"},
                               {"DEBUG", "PROTOCOL", "map"}});
  CHECK(parse_streamq(all, {}, node_form).size() == 5);
  check_resp3(all, parse_streamq(all, {}, node_form));

  // ordinary commands answer with RESP3 shapes
  const std::string k = streamq::test::unique_key_prefix("differential-resp3");
  const auto shapes = c.exchange({{"HSET", k + "h", "f", "v"},
                                  {"HGETALL", k + "h"},
                                  {"GET", k + "none"},
                                  {"ZADD", k + "z", "1.5", "a"},
                                  {"ZRANGE", k + "z", "0", "-1", "WITHSCORES"},
                                  {"XADD", k + "s", "1-1", "f", "v"},
                                  {"XINFO", "STREAM", k + "s"}});
  const auto replies = parse_streamq(shapes, {}, node_form);
  REQUIRE(replies.size() == 7);
  CHECK(replies[1] == "map@0[1] blob_string@1=\"f\" blob_string@1=\"v\"");
  CHECK(replies[2] == "null@0");
  CHECK(replies[4] == "array@0[1] array@1[2] blob_string@2=\"a\" double@2=\"1.5\"");
  CHECK(replies[6].starts_with("map@0["));
  check_resp3(shapes, replies);
}
