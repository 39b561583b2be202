#pragma once
// What the Lua script tests share (lua_scripts_test.cpp, lua_delivery_scripts_test.cpp): commands
// sent one by one with their replies checked, and each script run through exec_script, by SHA
// or, right after SCRIPT FLUSH, by source.
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include "streams/commands/script.hpp"

#include <streamq/client.hpp>

#include <doctest/doctest.h>
#include <streamq_lua_scripts.hpp>

#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::test::lua_calls {

namespace asio = boost::asio;
namespace lua = streamq::streams::detail::lua;
using namespace std::chrono_literals;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::resp::value;
using streamq::streams::detail::exec_script;
using streamq::streams::detail::lua_script;
using streamq::test::redis_server;
using strings = std::vector<std::string>;


// A script's reply: the value, or the server's error for it.
struct script_reply {
  std::error_code error;
  std::string diagnostic;
  value v;

  [[nodiscard]] const std::string& at(std::size_t i) const {
    REQUIRE(v.elements.size() > i);
    return v.elements[i].text;
  }
};

// One command; fails the test on an error reply. (The variadic forms below take the arguments
// one by one: GCC 12 cannot keep a braced list's array alive across a co_await.)
inline asio::awaitable<value> cmd(client& c, std::string_view command, strings args) {
  request req;
  req.push(command, args);
  response<value> reply;
  co_await c.async_exec(req, reply);
  INFO(command, " -> ", reply.get<0>().diagnostic());
  REQUIRE(reply.get<0>().has_value());
  co_return reply.get<0>().value();
}

template <class... A>
inline asio::awaitable<value> cmd(client& c, std::string_view command, const A&... args) {
  return cmd(c, command, strings{std::string(args)...});
}

inline asio::awaitable<std::string> text(client& c, std::string_view command, strings args) {
  co_return (co_await cmd(c, command, std::move(args))).text;
}

template <class... A>
inline asio::awaitable<std::string> text(client& c, std::string_view command, const A&... args) {
  return text(c, command, strings{std::string(args)...});
}

inline asio::awaitable<long long> number(client& c, std::string_view command, strings args) {
  co_return std::strtoll((co_await cmd(c, command, std::move(args))).text.c_str(), nullptr, 10);
}

template <class... A>
inline asio::awaitable<long long> number(client& c, std::string_view command, const A&... args) {
  return number(c, command, strings{std::string(args)...});
}

inline asio::awaitable<bool> loaded(client& c, const lua::script_source& s) {
  const auto exists = co_await cmd(c, "SCRIPT", "EXISTS", std::string(s.sha1));
  REQUIRE(exists.elements.size() == 1);
  co_return exists.elements[0].text == "1";
}

// Runs `s` through exec_script with `keys` and `args`.
// Arguments by value: they live in the coroutine frame, however the call was made.
inline asio::awaitable<script_reply> run(client& c, const lua::script_source& s, strings keys,
                                  strings args) {
  const lua_script script(s);
  std::vector<key> marked;
  for (const auto& k : keys) marked.push_back(key{k});
  response<value> reply;
  auto build = [&](request& req, bool by_source) {
    script.push(req, by_source, marked.size(), marked, args);
  };
  const auto ec = co_await exec_script(c, reply, build);
  REQUIRE_FALSE(ec);
  auto& r = reply.get<0>();
  if (!r.has_value()) co_return script_reply{r.error(), r.diagnostic(), {}};
  co_return script_reply{{}, {}, std::move(r).value()};
}

template <class... A>
inline asio::awaitable<script_reply> run(client& c, const lua::script_source& s, strings keys,
                                  const A&... args) {
  return run(c, s, std::move(keys), strings{std::string(args)...});
}

// run() right after SCRIPT FLUSH: the server answers NOSCRIPT, the source is sent, and the
// script is loaded under its build-time SHA-1 afterwards.
inline asio::awaitable<script_reply> run_flushed(client& c, const lua::script_source& s, strings keys,
                                          strings args) {
  co_await cmd(c, "SCRIPT", "FLUSH");
  REQUIRE_FALSE(co_await loaded(c, s));
  auto reply = co_await run(c, s, keys, args);
  CHECK(co_await loaded(c, s));
  co_return reply;
}

template <class... A>
inline asio::awaitable<script_reply> run_flushed(client& c, const lua::script_source& s, strings keys,
                                          const A&... args) {
  return run_flushed(c, s, std::move(keys), strings{std::string(args)...});
}

inline asio::awaitable<long long> server_ms(client& c) {
  const auto t = co_await cmd(c, "TIME");
  REQUIRE(t.elements.size() == 2);
  co_return std::stoll(t.elements[0].text) * 1000 + std::stoll(t.elements[1].text) / 1000;
}

inline void with_server(const std::function<asio::awaitable<void>(client&)>& body) {
  redis_server server;
  streamq::test::run_with_client(server.url(), body);
}

}  // namespace streamq::test::lua_calls
