#pragma once
// One delivered message's trace (docs/tracing.md): the context its traceparent header carries,
// its receive and process spans, and the retry and dead-letter spans under the process span;
// and the IDs its log records carry.

#include <streamq/streams/envelope.hpp>
#include <streamq/streams/tracing.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// Which message a log record is about (consumer_impl::report): fields entry_id and trace_id.
struct message_ref {
  std::string_view entry_id;
  std::string_view trace_id;  // 32 hex digits; empty before the envelope was decoded
};

class message_trace {
 public:
  // `hook` may be null; the views must outlive this (the subscription's and the entry's).
  message_trace(tracer* hook, std::string_view topic, std::string_view group,
                std::string_view entry_id) noexcept
      : hook_(hook), topic_(topic), group_(group), entry_id_(entry_id) {}
  message_trace(const message_trace&) = delete;
  message_trace& operator=(const message_trace&) = delete;
  // A span still open (the handler's run abandoned at shutdown) ends as an error.
  ~message_trace();

  // The entry was decoded (`envelope` null: it was not): the trace its headers carry (a new one
  // if they carry none that is valid), and the receive span, from the read (`received_at`)
  // until now.
  void received(const v1::Envelope* envelope, std::uint32_t attempt,
                std::chrono::system_clock::time_point received_at);
  // Starts the process span; its context is the handler's (message_context::trace).
  const trace_context& start_process();
  void end_process(span_status status, std::string_view error);

  // A retry or dead letter ("retry", "dead_letter"): a span under the process span (under
  // the received context when the handler did not run), ended by settled().
  void settling(std::string_view operation);
  void settled(span_status status, std::string_view error);

  // The handler's context: the process span's, or without a tracer the received one.
  [[nodiscard]] const trace_context& context() const noexcept { return context_; }
  [[nodiscard]] message_ref ref() const noexcept {
    return {entry_id_, std::string_view(trace_id_.data(), known_ ? trace_id_.size() : 0)};
  }

 private:
  void set_context(const trace_context& context);
  [[nodiscard]] std::vector<span_attribute> attributes(std::string_view operation_name,
                                                       std::string_view operation_type) const;
  [[nodiscard]] span_start start_of(span_kind kind, const std::string& name,
                                    const trace_context* parent,
                                    const std::vector<span_attribute>& attributes) const;

  tracer* hook_;
  std::string_view topic_;
  std::string_view group_;
  std::string_view entry_id_;
  std::string message_id_;
  std::uint32_t attempt_ = 0;
  std::optional<trace_context> received_;  // what the headers carry (or the new trace)
  trace_context context_;
  std::optional<span_handle> process_;
  std::optional<span_handle> settle_;
  std::array<char, 32> trace_id_{};
  bool known_ = false;
};

}  // namespace streamq::streams::detail
