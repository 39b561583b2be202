#include "bench_runtime.hpp"

#include "bench_cluster.hpp"

#include <streamq/redis/deadline.hpp>

#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <tuple>
#include <variant>

namespace streamq::bench {

using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// The body with its failure turned into a value, so that || sees a normal completion.
asio::awaitable<void> guarded(const client_body& body, streamq::client& client,
                              std::exception_ptr& failure) {
  try {
    co_await body(client);
  } catch (...) {
    failure = std::current_exception();
  }
}

}  // namespace

std::string run_with_client(const std::string& url, const client_body& body) {
  return run_with_client(client_config(url), body);
}

std::string run_with_client(const redis::connection_config& config, const client_body& body) {
  asio::io_context io(1);  // one thread: lets Asio skip waking other threads
  streamq::client client(io.get_executor(), config);
  std::exception_ptr failure;
  std::string outcome = "the race of client and scenario never completed";
  asio::co_spawn(
      io, client.async_run(use_tuple) || guarded(body, client, failure),
      [&](std::exception_ptr e, std::variant<std::tuple<redis::error_code>, std::monostate> first) {
        if (e)
          outcome = describe(e);
        else if (first.index() == 0)  // the client's owner operation ended first
          outcome = "the client stopped before the scenario ended: " +
                    std::get<0>(std::get<0>(first)).message();
        else
          outcome.clear();
      });
  io.run();
  if (failure && outcome.empty()) return describe(failure);
  if (failure) return outcome + " (scenario: " + describe(failure) + ")";
  return outcome;
}

bool run_scenario(std::string_view name, const std::string& url, const client_body& body) {
  return run_scenario(name, client_config(url), body);
}

bool run_scenario(std::string_view name, const redis::connection_config& config,
                  const client_body& body) {
  const std::string failure = run_with_client(config, body);
  if (failure.empty()) return true;
  std::fprintf(stderr, "streamq-bench %.*s: %s\n", static_cast<int>(name.size()), name.data(),
               failure.c_str());
  return false;
}

worker_group::worker_group(asio::any_io_executor ex) : ex_(ex), all_done_(ex) {
  all_done_.expires_at(asio::steady_timer::time_point::max());
}

void worker_group::spawn(asio::awaitable<void> worker) {
  spawn(std::move(worker), asio::cancellation_slot{});
}

void worker_group::spawn(asio::awaitable<void> worker, asio::cancellation_slot slot) {
  ++running_;
  asio::co_spawn(ex_, std::move(worker),
                 asio::bind_cancellation_slot(slot, [this](std::exception_ptr e) {
                   if (e && !failure_) failure_ = e;
                   if (--running_ == 0) all_done_.cancel();
                 }));
}

asio::awaitable<void> worker_group::wait() {
  // Single-threaded: nothing can end between this check and the wait starting.
  if (running_ == 0) co_return;
  co_await all_done_.async_wait(use_tuple);
}

asio::awaitable<void> stall_watchdog(const std::uint64_t& progress, std::chrono::seconds limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto tick = std::max<bench_clock::duration>(limit / 10, std::chrono::milliseconds(10));
  std::uint64_t last = progress;
  auto last_change = bench_clock::now();
  while (true) {
    timer.expires_after(tick);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) co_return;  // cancelled: the race is over anyway
    const auto now = bench_clock::now();
    if (progress != last) {
      last = progress;
      last_change = now;
    } else if (now - last_change >= limit) {
      co_return;
    }
  }
}

asio::awaitable<void> setup_exec(streamq::client& client, const resp::request& req,
                                 std::string_view what, std::chrono::seconds timeout) {
  resp::ignore_response reply;
  auto [ec] = co_await streamq::with_deadline(client.async_exec(req, reply, use_tuple), timeout);
  if (ec) throw std::runtime_error(std::string(what) + " failed: " + ec.message());
  if (reply.first_error())
    throw std::runtime_error(std::string(what) + " refused: " + reply.diagnostic());
}

// ---- stream state ------------------------------------------------------------------------

namespace {

std::string leaf_text(const resp::value& map, std::string_view key, std::string_view what) {
  const resp::value* v = map.find(key);
  if (v == nullptr || v->is_aggregate() || v->is_error())
    throw std::runtime_error(std::string(what) + ": no '" + std::string(key) + "' in " +
                             resp::to_string(map));
  return v->text;
}

}  // namespace

const group_state* stream_state::group(std::string_view name) const noexcept {
  for (const auto& g : groups)
    if (g.name == name) return &g;
  return nullptr;
}

bool stream_state::drained(std::string_view name) const noexcept {
  const group_state* g = group(name);
  return g != nullptr && g->pending == 0 && g->last_delivered_id == last_generated_id;
}

asio::awaitable<stream_state> read_stream_state(streamq::client& client,
                                                const std::string& stream_key) {
  resp::request req;
  req.push("XINFO", "STREAM", resp::key{stream_key});
  req.push("XINFO", "GROUPS", resp::key{stream_key});
  resp::generic_response replies;
  auto [ec] = co_await streamq::with_deadline(client.async_exec(req, replies, use_tuple),
                                              std::chrono::seconds(10));
  const std::string what = "XINFO of " + stream_key;
  if (ec) throw std::runtime_error(what + " failed: " + ec.message());
  const auto& v = replies.values();
  if (v.size() != 2) throw std::runtime_error(what + ": expected 2 replies");
  for (const auto& reply : v)
    if (reply.is_error()) throw std::runtime_error(what + " refused: " + reply.text);

  stream_state state;
  state.last_generated_id = leaf_text(v[0], "last-generated-id", what);
  for (const auto& g : v[1].elements) {
    group_state gs;
    gs.name = leaf_text(g, "name", what);
    gs.last_delivered_id = leaf_text(g, "last-delivered-id", what);
    const std::string pending = leaf_text(g, "pending", what);
    auto [ptr, perr] = std::from_chars(pending.data(), pending.data() + pending.size(), gs.pending);
    if (perr != std::errc{} || ptr != pending.data() + pending.size())
      throw std::runtime_error(what + ": pending is not a count: " + pending);
    state.groups.push_back(std::move(gs));
  }
  co_return state;
}

asio::awaitable<bool> wait_drained(streamq::client& client, const std::string& stream_key,
                                   std::span<const std::string> groups,
                                   std::chrono::seconds timeout,
                                   const std::function<bool()>& tick) {
  co_return co_await wait_drained(client, std::span<const std::string>(&stream_key, 1), groups,
                                  timeout, tick);
}

asio::awaitable<bool> wait_drained(streamq::client& client,
                                   std::span<const std::string> stream_keys,
                                   std::span<const std::string> groups,
                                   std::chrono::seconds timeout,
                                   const std::function<bool()>& tick) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = bench_clock::now() + timeout;
  auto last_query = bench_clock::now() - std::chrono::hours(1);
  while (true) {
    const auto interval = std::chrono::milliseconds(tick() ? 5 : 50);
    const auto now = bench_clock::now();
    if (now - last_query >= interval || now >= deadline) {
      last_query = now;
      try {
        bool all = true;
        for (const auto& stream_key : stream_keys) {
          const stream_state state = co_await read_stream_state(client, stream_key);
          all = std::all_of(groups.begin(), groups.end(),
                            [&](const std::string& g) { return state.drained(g); });
          if (!all) break;
        }
        if (all) co_return true;
      } catch (const std::runtime_error&) {
        // connection trouble: the next query tries again, the deadline bounds the wait
      }
    }
    if (bench_clock::now() >= deadline) co_return false;
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(use_tuple);
  }
}

}  // namespace streamq::bench
