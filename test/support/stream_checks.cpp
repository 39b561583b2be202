#include "support/stream_checks.hpp"

#include <streamq/run_until.hpp>

#include "support/async_test.hpp"

#include <streamq/redis/deadline.hpp>
#include <streamq/redis/error.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace streamq::test {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using resp::key;
using resp::request;
using resp::response;

namespace {
std::vector<std::string> field_texts(const resp::value& fields) {
  std::vector<std::string> out;
  out.reserve(fields.elements.size());
  for (const auto& f : fields.elements) out.push_back(f.text);
  return out;
}

std::optional<std::uint64_t> sequence_of(const v1::Envelope& envelope) {
  Order order;
  if (!order.ParseFromString(envelope.payload())) return std::nullopt;
  return ledger::parse_label(order.id());
}
}  // namespace

asio::awaitable<std::vector<topic_entry>> read_topic(client& c, const std::string& topic) {
  request req;
  req.push("XRANGE", key{streams::topic_keys(topic).stream()}, "-", "+");
  response<std::vector<std::pair<std::string, std::vector<std::string>>>> reply;
  co_await c.async_exec(req, reply);
  std::vector<topic_entry> out;
  for (auto& [id, fields] : reply.get<0>().value()) {
    topic_entry e;
    e.added_ms = std::stoll(id.substr(0, id.find('-')));
    e.id = std::move(id);
    REQUIRE_FALSE(streams::decode_entry(fields, e.envelope));
    REQUIRE(e.order.ParseFromString(e.envelope.payload()));
    out.push_back(std::move(e));
  }
  co_return out;
}

asio::awaitable<std::size_t> topic_length(client& c, const std::string& topic) {
  request req;
  req.push("XLEN", key{streams::topic_keys(topic).stream()});
  response<std::size_t> len;
  co_await c.async_exec(req, len);
  co_return len.get<0>().value();
}

asio::awaitable<std::size_t> pending_count(client& c, const std::string& topic,
                                           const std::string& group) {
  request req;
  req.push("XPENDING", key{streams::topic_keys(topic).stream()}, group);
  response<resp::value> summary;
  // XPENDING only reads, so it is sent again when its connection was lost after writing it
  // (fault tests kill connections; the kill may land just before this request is written).
  for (int attempt = 1;; ++attempt) {
    auto [ec] = co_await c.async_exec(req, summary, asio::as_tuple(asio::use_awaitable));
    if (!ec) break;
    const bool resend = ec == redis::client_errc::outcome_unknown || redis::is_retryable(ec);
    if (!resend || attempt == 5) throw boost::system::system_error(ec, "XPENDING");
    summary = response<resp::value>{};
    co_await sleep_for(20ms);
  }
  const auto& v = summary.get<0>().value();
  REQUIRE_FALSE(v.elements.empty());
  co_return std::stoull(v.elements.front().text);
}

asio::awaitable<std::map<std::string, long>> handled_counts(client& c, const std::string& topic) {
  request req;
  req.push("HGETALL", key{topic + ":handled"});
  response<std::map<std::string, long>> counts;
  co_await c.async_exec(req, counts);
  co_return counts.get<0>().value();
}

asio::awaitable<streams::consumer_stats> rescue(client& c, const std::string& topic,
                                                const std::string& group, std::size_t n,
                                                std::chrono::milliseconds claim_idle) {
  streams::consumer_config config;
  config.group = group;
  config.name = "rescuer";
  config.claim_idle = claim_idle;
  config.claim_interval = 100ms;
  streams::consumer rescuer(c, config);
  rescuer.subscribe<Order>(topic,
                           [&](const Order& o, streams::message_context&) -> asio::awaitable<void> {
                             request req;
                             req.push("HINCRBY", key{topic + ":handled"}, o.id(), 1);
                             resp::ignore_response ignored;
                             co_await c.async_exec(req, ignored);
                           });
  auto all_done = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3000; ++i) {
      if ((co_await handled_counts(c, topic)).size() == n &&
          co_await pending_count(c, topic, group) == 0)
        co_return;
      co_await sleep_for(10ms);
    }
  };
  co_await (rescuer.run() || all_done());
  co_return rescuer.stats();
}

asio::awaitable<void> drain_into(client& c, const std::string& topic, const std::string& group,
                                 ledger& book) {
  const streams::topic_keys keys(topic);
  request req;
  req.push("XRANGE", key{keys.stream()}, "-", "+");
  req.push("XRANGE", key{keys.dead_letters(group)}, "-", "+");
  response<resp::value, resp::value> reply;
  // Read-only, so safe to repeat when a fault's last reset catches it in flight.
  for (int attempt = 0;; ++attempt) {
    auto [ec] =
        co_await with_deadline(c.async_exec(req, reply, asio::as_tuple(asio::use_awaitable)), 10s);
    if (!ec) break;
    REQUIRE_MESSAGE(attempt < 5, "draining failed: " << ec.message());
    co_await sleep_for(100ms);
  }
  for (const auto& entry : reply.get<0>().value().elements) {
    v1::Envelope envelope;
    const auto seq = streams::decode_entry(field_texts(entry.elements.at(1)), envelope)
                         ? std::nullopt
                         : sequence_of(envelope);
    if (seq)
      book.record_stream_entry(*seq);
    else
      book.record_foreign_entry();
  }
  for (const auto& entry : reply.get<1>().value().elements) {
    v1::DeadLetter letter;
    const auto seq = streams::decode_dead_letter(field_texts(entry.elements.at(1)), letter)
                         ? std::nullopt
                         : sequence_of(letter.envelope());
    if (seq)
      book.record_dead_letter(*seq);
    else
      book.record_foreign_entry();
  }
}

asio::awaitable<std::vector<v1::DeadLetter>> read_dead_letters(client& c, const std::string& topic,
                                                               const std::string& group) {
  request req;
  req.push("XRANGE", key{streams::topic_keys(topic).dead_letters(group)}, "-", "+");
  response<std::vector<std::pair<std::string, std::vector<std::string>>>> entries;
  co_await c.async_exec(req, entries);
  std::vector<v1::DeadLetter> letters;
  for (const auto& [id, fields] : entries.get<0>().value()) {
    v1::DeadLetter letter;
    REQUIRE_FALSE(streams::decode_dead_letter(fields, letter));
    letters.push_back(letter);
  }
  co_return letters;
}

asio::awaitable<void> while_consuming(streams::consumer& first, streams::consumer* second,
                                      std::function<asio::awaitable<void>()> scenario) {
  if (second == nullptr)
    co_await streamq::run_until(first.run(), scenario());
  else
    co_await streamq::run_until(first.run(), streamq::run_until(second->run(), scenario()));
}

asio::awaitable<std::int64_t> info_number(client& c, const std::string& section,
                                          const std::string& field) {
  request req;
  req.push("INFO", section);
  response<std::string> info;
  co_await c.async_exec(req, info);
  const auto& text = info.get<0>().value();
  const auto at = text.find("\n" + field + ":");
  REQUIRE_MESSAGE(at != std::string::npos, "INFO " << section << " has no " << field);
  co_return std::stoll(text.substr(at + field.size() + 2));
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Order order_with_id(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

streams::envelope_options keyed(const std::string& idempotency_key) {
  streams::envelope_options options;
  options.idempotency_key = idempotency_key;
  return options;
}

}  // namespace streamq::test
