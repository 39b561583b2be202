// A delivered message's trace and spans (consume/message_trace.hpp).
#include "consume/message_trace.hpp"

#include "support/spans.hpp"

#include <streamq/streams/names.hpp>

#include <array>
#include <cstring>

namespace streamq::streams::detail {

message_trace::~message_trace() {
  if (settle_) end_span(hook_, *settle_, span_status::error, "abandoned");
  if (process_) end_span(hook_, *process_, span_status::error, "abandoned");
}

void message_trace::set_context(const trace_context& context) {
  context_ = context;
  // The trace ID's hex, for log records, without a string per message: it is characters
  // 3..34 of the traceparent.
  std::array<char, traceparent_size> traceparent{};
  write_traceparent(context, traceparent.data());
  std::memcpy(trace_id_.data(), traceparent.data() + 3, trace_id_.size());
  known_ = true;
}

std::vector<span_attribute> message_trace::attributes(std::string_view operation_name,
                                                      std::string_view operation_type) const {
  namespace attr = span_attributes;
  // A partition's subscription ("T#N", partitioned_consumer): destination T, partition N.
  const auto partition = parse_partition_topic(topic_);
  std::vector<span_attribute> out{
      {attr::system, std::string(messaging_system)},
      {attr::destination, std::string(partition ? partition->topic : topic_)},
      {attr::group, std::string(group_)},
      {attr::operation_name, std::string(operation_name)},
      {attr::operation_type, std::string(operation_type)},
      {attr::message_id, message_id_},
      {attr::entry_id, std::string(entry_id_)},
      {attr::attempt, std::to_string(attempt_)},
  };
  if (partition) out.push_back({attr::partition, std::to_string(partition->partition)});
  return out;
}

span_start message_trace::start_of(span_kind kind, const std::string& name,
                                   const trace_context* parent,
                                   const std::vector<span_attribute>& attributes) const {
  return span_start{kind, name, parent, attributes, std::chrono::system_clock::now()};
}

void message_trace::received(const v1::Envelope* envelope, std::uint32_t attempt,
                             std::chrono::system_clock::time_point received_at) {
  attempt_ = attempt;
  if (envelope != nullptr) {
    if (hook_ != nullptr) message_id_ = envelope->message_id();  // an attribute of its spans
    received_ = trace_of(*envelope);
  }
  // A message without a valid traceparent (an older producer, a foreign one, a corrupt
  // header) is never refused for it: its spans start a new trace.
  if (!received_) received_ = new_trace();
  set_context(*received_);
  if (hook_ == nullptr) return;
  const auto attrs = attributes("receive", "receive");
  const std::string name = "receive " + std::string(topic_);
  span_start start = start_of(span_kind::consumer, name, &*received_, attrs);
  start.start_time = received_at;
  span_handle span = start_span(hook_, start);
  end_span(hook_, span, span_status::ok);
}

const trace_context& message_trace::start_process() {
  if (hook_ == nullptr) return context_;
  const auto attrs = attributes("process", "process");
  const std::string name = "process " + std::string(topic_);
  process_ = start_span(hook_, start_of(span_kind::consumer, name, &*received_, attrs));
  set_context(process_->context);
  return context_;
}

void message_trace::end_process(span_status status, std::string_view error) {
  if (!process_) return;
  end_span(hook_, *process_, status, error);
  process_.reset();  // its context stays the parent of what settles the message
}

void message_trace::settling(std::string_view operation) {
  if (hook_ == nullptr) return;
  const auto attrs = attributes(operation, "settle");
  const std::string name = std::string(operation) + " " + std::string(topic_);
  settle_ = start_span(hook_, start_of(span_kind::internal, name, &context_, attrs));
}

void message_trace::settled(span_status status, std::string_view error) {
  if (!settle_) return;
  end_span(hook_, *settle_, status, error);
  settle_.reset();
}

}  // namespace streamq::streams::detail
