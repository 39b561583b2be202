// handler_outputs: what an effectively-once handler produces, checked as a publisher would check
// it, so that a bad output fails the handler's run (which it may catch) instead of the commit.
#include <streamq/streams/outputs.hpp>

#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <boost/system/system_error.hpp>

#include <stdexcept>
#include <utility>

namespace streamq::streams {

handler_outputs::handler_outputs(std::string id_prefix, entry_limits limits)
    : id_prefix_(std::move(id_prefix)), limits_(limits) {}

void handler_outputs::add(std::string_view topic, const google::protobuf::Message& message) {
  add(topic, message, envelope_options{});
}

void handler_outputs::add(std::string_view topic, const google::protobuf::Message& message,
                          const envelope_options& options) {
  validate_name(name_kind::topic, topic);
  if (parse_partition_topic(topic))
    throw std::invalid_argument("streamq output topic '" + std::string(topic) +
                                "' names a partition: name the partitioned topic, whose "
                                "partitioner picks the partition");
  envelope_options derived = options;
  // The same on every run of the input: a consumer of the output can tell a repeat, and the
  // outbox's publish of it is deduplicated by this key.
  derived.message_id = id_prefix_ + ":" + std::to_string(entries_.size());
  derived.idempotency_key = derived.message_id;
  derived.dedup_by_content = false;
  // An output continues the handler's trace unless its options name one.
  if (!derived.trace && !derived.headers.contains(std::string(traceparent_header)))
    derived.trace = trace_;
  v1::Envelope envelope = make_envelope(message, derived);
  std::string field;
  if (auto ec = validate_envelope_strings(envelope, &field))
    throw boost::system::system_error(ec, "output for '" + std::string(topic) + "': " + field);
  if (auto ec = check_limits(envelope, limits_))
    throw boost::system::system_error(ec, "output for '" + std::string(topic) + "' of " +
                                              std::to_string(envelope.payload().size()) +
                                              " payload bytes");
  entries_.push_back(handler_output{std::string(topic), std::move(envelope)});
}

}  // namespace streamq::streams
