#pragma once
// Effectively-once processing (docs/effectively-once.md): the messages a handler produces are
// committed together with its input's acknowledgement and a processed-ID record, so that a
// crash at any point neither loses nor duplicates an output.
//
//   streams::subscription_options options;
//   options.effectively_once = true;
//   c.subscribe<shop::Order>("orders", [](const shop::Order& o, message_context& ctx)
//       -> asio::awaitable<void> {
//     ctx.outputs->add("invoices", make_invoice(o));  // published only if the handler succeeds
//     co_return;
//   }, options);
//
// Outputs are kept in memory while the handler runs. When it succeeds, one Lua script in the
// input's slot checks that this consumer still owns the entry (and, on a partition, the
// lease's epoch), then writes the outputs, records the input as processed and acknowledges
// it. An output whose topic shares the input's cluster slot is added to its stream in that
// very script; any other goes to the group's outbox (a stream in the input's slot) and is
// published from there by the consumer with an idempotency key derived from the input, so
// that publishing it again after a crash adds nothing.

#include <streamq/streams/envelope.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace google::protobuf {
class Message;
}

namespace streamq::streams {

// One output as the handler gave it.
struct handler_output {
  std::string topic;
  v1::Envelope envelope;
};

// The outputs of one handler run (message_context::outputs). Not thread-safe: the handler adds
// from its own coroutine.
class handler_outputs {
 public:
  // `id_prefix` names the input (group and message key); each output's message_id and
  // idempotency_key are `id_prefix` + ":" + its index, the same on every run of the input.
  handler_outputs(std::string id_prefix, entry_limits limits);

  // Adds `message` for `topic`, in an envelope as make_envelope() makes it from `options`
  // (whose message_id and idempotency_key are replaced by the derived ones). Throws
  // std::invalid_argument for an invalid topic name or a partition's name ("T#N": name the
  // partitioned topic, whose partitioner picks the partition by partition_key), and boost::system::system_error with
  // errc::invalid_utf8 or errc::message_too_large for an envelope a publisher would refuse,
  // before anything is kept: the handler may catch it.
  void add(std::string_view topic, const google::protobuf::Message& message,
           const envelope_options& options);
  void add(std::string_view topic, const google::protobuf::Message& message);

  [[nodiscard]] const std::vector<handler_output>& entries() const noexcept { return entries_; }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  // Forgets every output (the consumer does so when the run fails: nothing is written).
  void clear() noexcept { entries_.clear(); }
  // The trace outputs continue when their options carry none (envelope_options::trace, a
  // traceparent header): the handler's (message_context::trace), set by the consumer.
  void continue_trace(const trace_context& trace) { trace_ = trace; }

 private:
  std::string id_prefix_;
  entry_limits limits_;
  std::vector<handler_output> entries_;
  std::optional<trace_context> trace_;
};

// Steps of an effectively-once commit, reported to subscription_options::on_commit_step: for
// tracing, and for fault tests that stop the process at each of them.
enum class commit_step : std::uint8_t {
  handler_returned,  // the handler succeeded; the commit has not been sent
  committed,         // the commit's reply arrived (outputs, record and ack are written)
  relayed,           // outbox outputs were published; their outbox entries not yet deleted
};

}  // namespace streamq::streams
