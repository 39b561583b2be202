#include <streamq/streams/error.hpp>

#include <string>

namespace streamq::streams {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class streams_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "streamq.streams"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_name:
        return "invalid topic, group or consumer name";
      case errc::message_too_large:
        return "message is over the configured size limit";
      case errc::decode_failed:
        return "payload does not decode as the expected message type";
      case errc::unknown_envelope_version:
        return "stream entry has an unknown envelope version";
      case errc::malformed_entry:
        return "stream entry is not a well-formed streamq message";
      case errc::publish_indeterminate:
        return "publish was written but its reply was lost; it may or may not have happened";
      case errc::dead_lettered:
        return "message was moved to the dead-letter stream";
      case errc::data_loss_detected:
        return "queue state disappeared; messages may have been lost";
      case errc::handler_failed:
        return "message handler failed";
      case errc::permanent_failure:
        return "message handler failed permanently";
      case errc::unsafe_eviction_policy:
        return "Redis maxmemory-policy may evict queue keys (not noeviction)";
      case errc::handler_timeout:
        return "message handler did not finish within its timeout";
      case errc::replication_timeout:
        return "published on the master, but not confirmed by enough replicas in time";
      case errc::delivery_limit_exceeded:
        return "entry was delivered more often than max_deliveries without being acknowledged";
      case errc::entry_gone:
        return "the topic entry is no longer in the stream (trimmed or deleted)";
      case errc::ownership_lost:
        return "another consumer of the group took the entry over";
      case errc::rejected_by_handler:
        return "the handler asked for the message to be dead-lettered";
      case errc::invalid_utf8:
        return "an envelope string field (header, ID or key) is not valid UTF-8";
      case errc::invalid_argument:
        return "the operation refused its arguments";
      case errc::fsync_unavailable:
        return "the master cannot confirm an fsync to its append-only file (no WAITAOF, or "
               "appendonly no)";
      case errc::partitions_changed:
        return "the partitioned topic's partition count changed; nothing was written";
      case errc::group_exists:
        return "the consumer group exists already; a replay creates only new groups";
    }
    return "unknown streamq streams error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& streams_category() noexcept {
  static const streams_category_impl instance;
  return instance;
}

bool is_permanent(const error_code& ec) noexcept {
  return ec == errc::decode_failed || ec == errc::unknown_envelope_version ||
         ec == errc::malformed_entry || ec == errc::message_too_large ||
         ec == errc::permanent_failure;
}

}  // namespace streamq::streams
