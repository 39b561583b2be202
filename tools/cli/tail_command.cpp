// `streamq tail`: see tail_command.hpp.
#include "tail_command.hpp"

#include "output.hpp"
#include "payloads.hpp"

#include <streamq/streams/envelope.hpp>

#include "commands/admin_command_requests.hpp"
#include "commands/replay_requests.hpp"
#include "commands/send_command.hpp"
#include "sansio/replay_plan.hpp"  // parse_entry_id, id_before

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <csignal>
#include <cstdio>
#include <memory>

namespace streamq::cli {

namespace asio = boost::asio;
namespace sd = streams::detail;

namespace {

// How long one XREAD waits before it is asked again: the read loop is a wait with a timeout
// like every other, and a server that stopped answering shows within this time plus the
// round trip.
constexpr std::chrono::milliseconds block_per_read{std::chrono::seconds(5)};
// Entries one XREAD returns at most.
constexpr std::size_t read_batch = 100;

// Where to start reading: after the entry before --from, or after the stream's last entry now
// (resolved here rather than with "$", which each XREAD would re-resolve, losing entries added
// between two reads).
asio::awaitable<std::string> start_after(client& c, const std::string& stream,
                                         const std::string& from) {
  if (!from.empty()) {
    const auto id = sd::parse_entry_id(from);
    if (!id) throw command_error(exit_usage_error, "--from: not an entry ID: " + from);
    const auto before = sd::id_before(*id);
    co_return before ? before->text() : std::string("0-0");
  }
  std::optional<std::string> first;
  std::optional<std::string> last;
  const auto sent = co_await sd::send_commands(
      c, [&](resp::request& req) { sd::build_stream_bounds(req, stream); },
      [&](std::span<const resp::value> replies) {
        return sd::decode_stream_bounds(replies, first, last);
      });
  if (!sent) sd::throw_failure(sent);
  co_return last.value_or("0-0");
}

void print_entry(const cli_state& state, const admin::payload_renderer& renderer,
                 const sd::stream_entry& entry) {
  v1::Envelope envelope;
  const auto ec = streams::decode_entry(std::span<const std::string>(entry.fields), envelope);
  if (state.out.json) {
    json_object line;
    line.add("id", json_string(entry.id)).add("decoded", ec ? "false" : "true");
    if (ec)
      line.add("error", json_string(ec.message()));
    else
      line.add("envelope", admin::envelope_json(envelope, &renderer));
    std::printf("%s\n", line.str().c_str());
  } else if (ec) {
    std::printf("%s  not an envelope: %s\n", entry.id.c_str(), ec.message().c_str());
  } else {
    std::printf("%s  %s  %s  %s\n", entry.id.c_str(), envelope.type().c_str(),
                envelope.message_id().c_str(), payload_text(envelope, renderer).c_str());
  }
  // Each message as it arrives, also into a pipe.
  std::fflush(stdout);
}

asio::awaitable<void> run_connection(redis::connection& conn) {
  auto [ec] = co_await conn.async_run(asio::as_tuple(asio::use_awaitable));
  // Its end before the reader's is the connection's failure (the reader's own error would only
  // say that its request was given up).
  throw boost::system::system_error(ec ? ec : conn.last_error());
}

asio::awaitable<void> read_loop(redis::connection& conn, const cli_state& state,
                                const admin::payload_renderer& renderer, const std::string& stream,
                                std::string after, std::uint64_t count) {
  std::uint64_t printed = 0;
  for (;;) {
    resp::request req;
    const std::size_t batch =
        count == 0 ? read_batch
                   : static_cast<std::size_t>(std::min<std::uint64_t>(read_batch, count - printed));
    sd::build_tail_read(req, stream, after, batch, block_per_read);
    sd::command_reply reply;
    auto [ec] = co_await conn.async_exec(req, reply, asio::as_tuple(asio::use_awaitable));
    if (ec) throw boost::system::system_error(conn.last_error() ? conn.last_error() : ec);
    std::vector<sd::stream_entry> entries;
    const auto decoded = sd::decode_tail_read(reply.value(), entries);
    if (!decoded) sd::throw_failure({{}, decoded});
    for (const auto& entry : entries) {
      print_entry(state, renderer, entry);
      after = entry.id;
      if (count != 0 && ++printed == count) co_return;
    }
  }
}

// Ends at SIGINT or SIGTERM: a person's Ctrl-C, or a supervisor's stop, ends a tail normally.
// Cancelled (the client's connection failed), it throws: that is no normal end.
asio::awaitable<void> until_signal() {
  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
  auto [ec, signal] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) throw boost::system::system_error(ec);
}

}  // namespace

asio::awaitable<void> run_tail(client& c, const cli_state& state, tail_request request) {
  const auto renderer = make_renderer(state.payloads);
  const streams::topic_keys keys(request.topic, state.out.key_prefix);
  co_await require_topic(c, keys);
  const auto after = co_await start_after(c, keys.stream(), request.from);
  // A blocking read needs its own connection (client.hpp), to the node serving the stream.
  auto conn = c.make_dedicated_connection_for_slot(resp::hash_slot(keys.stream()), "tail");
  using namespace asio::experimental::awaitable_operators;
  co_await (run_connection(*conn) ||
            read_loop(*conn, state, renderer, keys.stream(), after, request.count) ||
            until_signal());
}

void add_tail_command(CLI::App& app, cli_state& state) {
  const auto r = std::make_shared<tail_request>();
  auto* cmd = app.add_subcommand(
      "tail",
      "Print a topic's new messages as they arrive (no consumer group involved) until "
      "--count messages, Ctrl-C or SIGTERM. --timeout-ms bounds connecting only");
  cmd->add_option("TOPIC", r->topic, "The topic")->required();
  cmd->add_option("--from", r->from,
                  "Start at this entry ID, inclusive (default: what comes next)");
  cmd->add_option("--count", r->count, "Stop after this many messages");
  cmd->callback([&state, r] {
    state.run.scope = deadline_scope::connecting;
    state.body = [&state, r](client& c) { return run_tail(c, state, *r); };
  });
}

}  // namespace streamq::cli
