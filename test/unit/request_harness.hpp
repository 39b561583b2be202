#pragma once
// Shared by the tests of the commands/*_requests decoders and builders (publish_, schedule_,
// maintenance_requests_test.cpp): a reply fed as Redis sends it, through resp::parser and the
// runners' own adapter (command_reply, or generic_response for pipelines), whole, at every
// split point and byte by byte (reply_harness.hpp), then decoded into an output holding stale
// data; and a request's commands read back argument by argument.

#include "parser_harness.hpp"
#include "reply_harness.hpp"
#include "streams/commands/delivery_requests.hpp"
#include "streams/commands/script.hpp"

#include <streamq/resp/parser.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/error.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with it
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace request_harness {

namespace resp = streamq::resp;
using streamq::streams::detail::command_reply;
using streamq::streams::detail::command_result;

// Feeds `bytes` (one reply) to a command_reply at every split point; after each, decodes it
// into a copy of `stale` and hands the result and the output to `check`.
template <class Out, class Decode, class Check>
void decode_everywhere(std::string_view bytes, const Out& stale, Decode decode, Check check) {
  command_reply reply;
  reply_harness::for_every_split(bytes, reply, [&] {
    Out out = stale;
    const command_result result = decode(reply.value(), out);
    check(result, out);
  });
}

// `bytes` decode to `want`, successfully, at every split point.
template <class Out, class Decode>
void expect_decoded(std::string_view bytes, const Out& stale, Decode decode, const Out& want) {
  INFO("reply: " << parser_harness::escape(bytes));
  decode_everywhere(bytes, stale, decode, [&](const command_result& result, const Out& out) {
    CHECK_FALSE(result.ec);
    CHECK(result.diagnostic.empty());
    CHECK(out == want);
  });
}

// `bytes` are the server's refusal `code`, with its text, and leave the output empty (`empty`,
// Out{} unless given).
template <class Out, class Decode>
void expect_refused(std::string_view bytes, const Out& stale, Decode decode, std::error_code code,
                    std::string_view text, const Out& empty = Out{}) {
  INFO("reply: " << parser_harness::escape(bytes));
  decode_everywhere(bytes, stale, decode, [&](const command_result& result, const Out& out) {
    CHECK(result.ec == code);
    CHECK(result.diagnostic == text);
    CHECK(out == empty);
  });
}

// `bytes` are not the command's reply shape: errc::malformed_entry, the output left empty.
template <class Out, class Decode>
void expect_malformed(std::string_view bytes, const Out& stale, Decode decode,
                      const Out& empty = Out{}) {
  INFO("reply: " << parser_harness::escape(bytes));
  decode_everywhere(bytes, stale, decode, [&](const command_result& result, const Out& out) {
    CHECK(result.ec == streamq::streams::errc::malformed_entry);
    CHECK(result.diagnostic.starts_with("unexpected reply shape: "));
    CHECK(out == empty);
  });
}

// Feeds `bytes` (`replies` replies) to a generic_response at every split point; after each,
// hands its values to `check`.
template <class Check>
void replies_everywhere(std::string_view bytes, std::size_t replies, Check check) {
  INFO("replies: " << parser_harness::escape(bytes));
  resp::generic_response values;
  reply_harness::for_every_split(
      bytes, values, [&] { check(std::span<const resp::value>(values.values())); }, replies);
}

// The arguments of every command in `req`, read back through the parser.
inline std::vector<std::vector<std::string>> commands_of(const resp::request& req) {
  std::vector<std::vector<std::string>> out;
  resp::parser p;
  resp::value_builder builder;
  std::string_view bytes = req.payload();
  while (!bytes.empty()) {
    std::error_code ec;
    const auto n = p.consume(bytes, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n);
    bytes.remove_prefix(p.consumed());
    if (!builder.on_node(*n)) continue;
    auto& args = out.emplace_back();
    for (const auto& arg : builder.result().elements) args.push_back(arg.text);
  }
  return out;
}

using args = std::vector<std::string>;

// A script call built both ways: EVALSHA <sha1> then `tail` (key count, keys, arguments), and
// EVAL <source> then the same; the SHA-1 is the source's.
template <class Build>
void check_script_call(Build build, const args& tail) {
  resp::request by_sha, by_source;
  build(by_sha, false);
  build(by_source, true);
  const auto sha = commands_of(by_sha), source = commands_of(by_source);
  REQUIRE(sha.size() == 1);
  REQUIRE(source.size() == 1);
  REQUIRE(sha[0].size() == tail.size() + 2);
  REQUIRE(source[0].size() == tail.size() + 2);
  CHECK(sha[0][0] == "EVALSHA");
  CHECK(source[0][0] == "EVAL");
  CHECK(sha[0][1] == streamq::streams::detail::sha1_hex(source[0][1]));
  CHECK(args(sha[0].begin() + 2, sha[0].end()) == tail);
  CHECK(args(source[0].begin() + 2, source[0].end()) == tail);
  CHECK(by_sha.slot() == by_source.slot());
  CHECK_FALSE(by_sha.cross_slot());
}

// Errors Redis 7.0 sends, as sent.
constexpr std::string_view noscript_text = "NOSCRIPT No matching script. Please use EVAL.";
constexpr std::string_view noscript = "-NOSCRIPT No matching script. Please use EVAL.\r\n";
constexpr std::string_view noperm_keys_text =
    "NOPERM this user has no permissions to access one of the keys used as arguments";
constexpr std::string_view noperm_keys =
    "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
constexpr std::string_view oom_text = "OOM command not allowed when used memory > 'maxmemory'.";
constexpr std::string_view oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
constexpr std::string_view wrongtype_text =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr std::string_view wrongtype =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
constexpr std::string_view readonly_text = "READONLY You can't write against a read only replica.";
constexpr std::string_view readonly = "-READONLY You can't write against a read only replica.\r\n";
// An error inside a script: the command's own code, with the script's place appended.
constexpr std::string_view script_wrongtype_text =
    "WRONGTYPE Operation against a key holding the wrong kind of value script: "
    "0b7f1e1a0b8c7a38ad6bfa0ad4dbf6e35fe5cb4d, on @user_script:12.";
constexpr std::string_view script_wrongtype =
    "-WRONGTYPE Operation against a key holding the wrong kind of value script: "
    "0b7f1e1a0b8c7a38ad6bfa0ad4dbf6e35fe5cb4d, on @user_script:12.\r\n";
// RESP3's blob error, and an attribute ahead of a reply (taken as RESP3 allows).
constexpr std::string_view blob_wrongtype =
    "!65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n";
constexpr std::string_view attribute = "|1\r\n+key-popularity\r\n%1\r\n$1\r\ns\r\n,0.5\r\n";

}  // namespace request_harness
