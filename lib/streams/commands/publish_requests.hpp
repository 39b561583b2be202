#pragma once
// The publishers' commands as pure functions, with no Asio: build_* appends one command (or,
// for scripts, one EVALSHA/EVAL call: `by_source` picks which) to a request, and decode_*
// turns its reply into a typed result, by the rules delivery_requests.hpp states for every
// decoder (output empty unless it succeeds; error replies classified, their text in
// `diagnostic`; any other shape errc::malformed_entry). publisher.cpp and
// durable_publisher_impl.cpp send them.

#include <streamq/resp/node.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/names.hpp>

#include "delivery_requests.hpp"  // command_result

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams::detail {

// XADD <stream> * <fields>: one entry, its ID given by the server. Inline, as it is
// publisher::publish's every call: the fields are written straight into `req`'s buffer, which
// allocates only when short.
// Reply: the new entry's ID.
inline void build_xadd(resp::request& req, const topic_keys& keys, const entry_fields& fields) {
  req.push("XADD", resp::key{keys.stream()}, "*", fields);
}
[[nodiscard]] command_result decode_xadd(const resp::value& reply, std::string& id);

// An XADD's reply decoded from the parser's nodes as they come, with no reply tree: the
// result decode_xadd() gives, for publisher::publish's one XADD. The ID is the only copy made
// of the reply.
class xadd_reply final : public resp::response_adapter {
 public:
  [[nodiscard]] std::size_t expected_replies() const noexcept override { return 1; }
  void on_start() override;
  void on_node(std::size_t reply, const resp::node& n) override;

  [[nodiscard]] const command_result& result() const noexcept { return result_; }
  // The entry's ID; empty unless result() is a success.
  [[nodiscard]] std::string& id() noexcept { return id_; }

 private:
  command_result result_;
  std::string id_;
};

// dedup_publish-3.lua: the idempotency key's check and the XADD in one script, so that any
// number of concurrent publishes of one key within `window` add one entry.
// Reply: [1, new ID] added, or [0, the first publish's ID] a duplicate.
void build_dedup_publish(resp::request& req, bool by_source, const topic_keys& keys,
                         std::string_view idempotency_key, std::chrono::milliseconds window,
                         const entry_fields& fields);
struct dedup_result {
  std::string id;
  bool duplicate = false;
  friend bool operator==(const dedup_result&, const dedup_result&) = default;
};
[[nodiscard]] command_result decode_dedup_publish(const resp::value& reply, dedup_result& out);

// publish_batch-2+.lua: every entry or none. `entries` holds, per entry, "1" (keyed: its dedup
// key is the next of `dedup_keys`) or "0", then the envelope's bytes; keyed entries within
// `window` of an earlier publish of their key add nothing.
// Reply: [added (1) or duplicate (0), ID] per entry, flat.
void build_publish_batch(resp::request& req, bool by_source, const topic_keys& keys,
                         std::span<const std::string> dedup_keys, std::chrono::milliseconds window,
                         std::span<const std::string> entries);
struct batch_result {
  std::vector<std::string> ids;  // per entry, in order: its ID, or the first publish's
  std::size_t duplicates = 0;
  friend bool operator==(const batch_result&, const batch_result&) = default;
};
// `entries`: how many the batch had; any other count in the reply is malformed.
[[nodiscard]] command_result decode_publish_batch(const resp::value& reply, std::size_t entries,
                                                  batch_result& out);

// WAIT <replicas> <timeout ms>: blocks its connection until `replicas` replicas have every write
// it sent before, or until the timeout.
// Reply: how many replicas have them.
void build_wait(resp::request& req, std::uint32_t replicas, std::chrono::milliseconds timeout);
[[nodiscard]] command_result decode_wait(const resp::value& reply, std::uint64_t& replicas);

// WAITAOF <local> <replicas> <timeout ms> (Redis >= 7.2, Valkey): blocks its connection until
// the master (local 1) and `replicas` replicas have fsynced every write it sent before to
// their append-only files, or until the timeout. With local 1 the server refuses at once when
// appendonly is off; a server without the command refuses it as unknown: either way the
// decoder gives the server's refusal. Sent on a connection that wrote nothing yet, it answers
// at once: how durable_publisher asks whether a master can confirm fsyncs.
// Reply: [masters fsynced (0 or 1), replicas fsynced].
struct aof_confirmation {
  std::uint64_t local = 0;
  std::uint64_t replicas = 0;

  friend bool operator==(const aof_confirmation&, const aof_confirmation&) = default;
};
void build_waitaof(resp::request& req, std::uint32_t local, std::uint32_t replicas,
                   std::chrono::milliseconds timeout);
[[nodiscard]] command_result decode_waitaof(const resp::value& reply, aof_confirmation& out);

}  // namespace streamq::streams::detail
