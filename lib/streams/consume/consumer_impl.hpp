#pragma once
// The state and coroutines behind streams::consumer: the XREADGROUP loop on a dedicated
// connection, handler dispatch with credit-based flow control, batched acknowledgements,
// retries kept in Redis per group, dead letters, and recovery of entries left by dead
// consumers. The rules (what to do with an outcome, when to give up, how much to read) are in
// sansio/delivery.hpp and sansio/reading.hpp; the Redis requests in
// commands/delivery_commands.hpp and commands/consumer_commands.hpp.
//
//   consumer_impl.cpp      set-up, run() and its stop, the read side, dispatch, workers, drain
//   consumer_handling.cpp  one message: decode, run the handler, carry out the decision
//   consumer_recovery.cpp  own-pending recovery, idle claims, due retries, keep-alive, timeouts
//   consumer_acks.cpp      acknowledgements (confirmed, resent after connection loss)
//   consumer_outputs.cpp   effectively-once commits and the outbox relay
//   consumer_events.cpp    events, log records and health()

#include <streamq/streams/consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>

#include "commands/delivery_commands.hpp"
#include "commands/stream_reply.hpp"
#include "consume/counters.hpp"
#include "consume/message_trace.hpp"
#include "sansio/key_gate.hpp"
#include "support/stop_request.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <exception>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

// One of the `concurrency` handler workers, and the message it is handling (when busy).
// "<host>-<pid>-<random>": a consumer's name when its configuration has none.
[[nodiscard]] std::string default_consumer_name();

struct in_flight_entry {
  boost::asio::cancellation_signal signal;  // stops the handler (shutdown, timeout)
  std::size_t index = 0;
  bool busy = false;
  std::size_t sub = 0;
  std::string id;
  // When handler_timeout cancels the handler (max: never), and whether it did.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool timed_out = false;
  // The message being handled, decoded into the same object each time: parsing into it
  // reuses its strings' buffers.
  v1::Envelope envelope;
};

// A delivered message waiting for a free worker.
struct queued_entry {
  std::size_t sub = 0;
  std::string id;
  std::vector<std::string> fields;
  std::uint64_t deliveries = 1;  // Redis's delivery count, this delivery included
  // subscription_options::per_key_concurrency: the envelope's partition_key, whether the
  // entry went through its subscription's key gate, whether it is the entry its key was
  // blocked on (back from a retry), and how its run ended for the key (set by handle()).
  std::string key;
  bool gated = false;
  bool head = false;
  key_fate fate = key_fate::done;
  // When it was read or claimed: its receive span starts there (message_trace).
  std::chrono::system_clock::time_point received_at{};
};

struct subscription {
  topic_keys keys;
  std::string type_name;
  consumer::raw_handler handler;
  subscription_options options;
  std::string processed_key;  // keys.processed(group), with options.once or effectively_once
  std::string outbox_key;     // keys.outbox(group), with options.effectively_once
  // Where the next outbox read starts: "-", or past an entry that could not be read back.
  std::string outbox_cursor = "-";
  std::string retry_key;      // keys.retries(group)
  std::string dead_key;       // keys.dead_letters(group)
  std::string claim_cursor = "-";  // where the next idle-claim scan of the PEL starts
  retry_policy retry;               // options.retry, else consumer_config::retry
  std::size_t in_flight = 0;        // this topic's entries queued or running
  // The partition lease this subscription holds (partitioned_consumer): its acknowledgements
  // check it. Unset for an ordinary subscription.
  std::optional<ack_fence> fence;
  // With a fence: its epoch's read gate (lease_read_gate), named in every XREADGROUP of the
  // topic, so that a read reaching Redis after another member took the lease delivers nothing.
  std::string read_gate;
  // options.per_key_concurrency > 0: entries waiting behind their key (sansio/key_gate.hpp),
  // and how many wait.
  std::unique_ptr<key_gate<queued_entry>> gate;
  std::size_t held_back = 0;
  // consumer::topic_stats(): behind a pointer, as atomics do not move with the vector.
  std::unique_ptr<topic_counters> counters = std::make_unique<topic_counters>();
};

class consumer_impl {
 public:
  consumer_impl(client& c, consumer_config config);

  // Acknowledgements of `topic`'s entries check `fence` from now on (before run()).
  void set_fence(std::string_view topic, ack_fence fence);
  // partitioned_consumer: `*valid_until` (which it moves on each renewal, and which must
  // outlive run()) is when its lease may no longer be trusted by this process's clock. From
  // then on nothing is read, claimed or started (credit() is 0, handle() leaves entries
  // pending). Checked synchronously, not by a timer: after SIGSTOP/SIGCONT the coroutines
  // resume in any order, and a read sent before the member's own tick stops this consumer
  // would take entries the partition's next holder answers for.
  void watch_lease(const std::chrono::steady_clock::time_point* valid_until) noexcept {
    lease_deadline_ = valid_until;
  }
  void subscribe(std::string_view topic, std::string type_name, const subscription_options& options,
                 consumer::raw_handler handler);
  boost::asio::awaitable<void> run();
  void stop() noexcept { stop_.request(); }
  boost::asio::awaitable<std::vector<topic_status>> inspect();
  consumer_health health() const;
  consumer_stats stats() const noexcept { return stats_.snapshot(); }
  std::vector<topic_consumer_stats> topic_stats() const {
    std::vector<topic_consumer_stats> out;
    out.reserve(subs_.size());
    for (const auto& s : subs_) out.push_back(s.counters->snapshot(s.keys.topic()));
    return out;
  }
  boost::asio::any_io_executor executor() const { return client_.get_executor(); }
  // An event: to on_event (if set) and the logger.
  // `about`: the message it concerns (log fields entry_id and trace_id).
  void report(consumer_event::kind what, const std::string& topic, std::string detail,
              error_code code = {}, const message_ref* about = nullptr);

  consumer_config config_;

 private:
  using fields = std::vector<std::string>;

  boost::asio::awaitable<void> run_once();  // run() apart from its running_ bookkeeping
  boost::asio::awaitable<void> start_up();
  boost::asio::awaitable<void> ensure_groups();
  boost::asio::awaitable<bool> group_exists(const std::string& stream);
  // One blocking reader per hash slot of the topics (one reader standalone), each on a
  // dedicated connection to its node; regroups them when a read meets a cluster fault.
  boost::asio::awaitable<void> read_slots();
  // Reads `topics` (indexes into subs_) on `conn` until stopped, rerouted or failed.
  boost::asio::awaitable<void> read_loop(redis::connection& conn,
                                         const std::vector<std::size_t>& topics);
  // Runs `conn` and the reads on it; on cancellation lets a read already sent finish first.
  boost::asio::awaitable<void> read_side(redis::connection& conn,
                                         const std::vector<std::size_t>& topics);
  // Runs `op` where run()'s cancellation cannot reach it: for requests whose withdrawal would
  // strand work (an XACK, a claim). `op` must bound its own time.
  boost::asio::awaitable<void> uncancellable(boost::asio::awaitable<void> op);
  boost::asio::awaitable<void> drain();

  // consumer_recovery.cpp
  // Takes this consumer's own pending entries that it does not hold (after a restart under
  // the same name, or a read whose reply was lost) from `topics` (a reader's), counting the
  // delivery.
  boost::asio::awaitable<void> recover_own_pending(const std::vector<std::size_t>& topics);
  // per_key_concurrency 1: blocks the keys of the group's entries waiting for a retry.
  boost::asio::awaitable<void> block_waiting_keys(std::size_t sub);
  boost::asio::awaitable<void> claim_loop();
  boost::asio::awaitable<void> claim_idle(std::size_t sub);
  boost::asio::awaitable<void> retry_loop();
  boost::asio::awaitable<void> keepalive_loop();
  boost::asio::awaitable<void> timeout_loop();
  void take_claimed(std::size_t sub, claim_result& result, bool count_as_claim);
  // IDs this consumer holds: queued, being handled, or acknowledged but not yet confirmed.
  std::unordered_set<std::string> held_ids(std::size_t sub) const;

  // consumer_acks.cpp
  void ack(std::size_t sub, std::string_view id);
  boost::asio::awaitable<void> ack_loop();
  // Sends the queued acknowledgements; those whose outcome is unknown, or refused for a
  // reason that passes (READONLY, LOADING...), are queued again. Returns false when some were
  // queued again.
  boost::asio::awaitable<bool> flush_acks();
  // At stop: flushes, retrying what can be retried, until `limit`.
  boost::asio::awaitable<void> final_flush(std::chrono::milliseconds limit);

  // consumer_handling.cpp
  void dispatch(std::size_t sub, std::string id, fields entry, std::uint64_t deliveries);
  // Hands an entry to the workers (it counts in credit() from now on).
  void enqueue(queued_entry entry);
  // The envelope's partition_key of an entry, read without decoding the rest
  // (sansio/envelope_scan.hpp); empty when it has none or is not well-formed.
  std::string key_of(const fields& entry);
  // A gated entry's run ended (entry.fate): frees the entries of its key that may run now.
  void finish_key(const queued_entry& entry);
  // Room for entries held back behind their key, for `sub`'s reads.
  bool may_hold_more(std::size_t sub) const noexcept;
  boost::asio::awaitable<void> handle(in_flight_entry& flight, queued_entry& entry);
  // Runs the handler within handler_timeout; a thrown failure comes back as an outcome.
  boost::asio::awaitable<outcome> run_handler(in_flight_entry& flight,
                                              const v1::Envelope& envelope, message_context& ctx);
  // How a dead_letter() ended.
  enum class letter_result : std::uint8_t {
    written,   // the dead letter was added and the entry acknowledged
    not_ours,  // another consumer (or the partition's next holder) answers for the entry now
    failed,    // not written: the entry stays pending and comes back
  };
  // What a dead letter (written or not) means for a gated entry's key; reports a release or
  // hold.
  key_fate dead_letter_fate(letter_result result, std::size_t sub, const queued_entry& entry,
                            const message_trace& trace);
  // After a read of `topics` failed with NOGROUP or UNBLOCKED: whether a fenced topic's read
  // gate is gone (another member took its lease: reported, and nothing more is read or
  // started), rather than its group.
  boost::asio::awaitable<bool> read_gate_closed(const std::vector<std::size_t>& topics);
  // A read's gate was gone, or a fenced claim or retry take refused: another member holds
  // the partition's lease now. Reported once (lease_lost); from then on nothing more is read,
  // claimed or started here (lease_expired()), and the member's next heartbeat stops it.
  void lease_taken(std::size_t sub, const std::string& what);
  // Reports that a fenced write was refused: the partition's lease names another member.
  void lease_lost(std::size_t sub, const std::string& what, const message_ref* about = nullptr);
  boost::asio::awaitable<letter_result> dead_letter(std::size_t sub, const std::string& id,
                                           const v1::Envelope* envelope, const fields& entry,
                                           std::uint32_t attempts, error_code why,
                                           const std::string& text, message_trace& trace);
  // Whether the entry is still this consumer's: scheduled, or left pending after a failed
  // request (false: another consumer took it over).
  boost::asio::awaitable<bool> schedule_retry(std::size_t sub, const std::string& id,
                                              std::chrono::milliseconds delay,
                                              const error_code& why, const std::string& text,
                                              message_trace& trace);
  // subscription_options::once: whether `message_key` was handled already, and recording it
  // together with the acknowledgement. False when the record could not be written (the
  // entry stays pending and comes back).
  boost::asio::awaitable<bool> already_processed(std::size_t sub, const std::string& message_key,
                                                 const message_ref* about = nullptr);
  boost::asio::awaitable<bool> ack_processed(std::size_t sub, const std::string& id,
                                             const std::string& message_key,
                                             const message_ref* about = nullptr);

  // consumer_outputs.cpp (subscription_options::effectively_once)
  // Commits `outputs` with entry `id`'s record and acknowledgement; on failure the entry stays
  // pending and comes back, and nothing was written.
  boost::asio::awaitable<void> commit_outputs(std::size_t sub, const std::string& id,
                                              const std::string& message_key,
                                              const handler_outputs& outputs,
                                              const message_ref* about = nullptr);
  // Publishes the outboxes' outputs: woken by commits, and every outbox_poll for outputs a
  // stopped or crashed consumer left.
  boost::asio::awaitable<void> relay_loop();
  // One pass over `sub`'s outbox (at most one read's worth). `more`: the read was full.
  // Returns false when publishing or a request failed (reported).
  boost::asio::awaitable<bool> relay_outbox(std::size_t sub, bool& more);
  // At stop: passes over the outboxes until they are empty, or `limit`.
  boost::asio::awaitable<void> final_relay(std::chrono::milliseconds limit);
  void commit_step_reached(std::size_t sub, commit_step step, std::string_view id);
  // An output topic's keys, made once per topic (a topic_keys builds a dozen strings).
  const topic_keys& output_keys(const std::string& topic);
  void record_latency(std::chrono::steady_clock::duration took) noexcept;
  // Records a failed request: counters, health, event and log.
  void failed(consumer_event::kind what, std::size_t sub, const command_result& result,
              const std::string& doing, const message_ref* about = nullptr);

  // Whether watch_lease's deadline has passed, or a read found the lease taken.
  bool lease_expired() const noexcept;
  // Free handler slots: over all topics, and for topic `sub` (options.concurrency); none once
  // the lease expired.
  std::size_t credit() const noexcept;
  std::size_t credit(std::size_t sub) const noexcept;
  group_ref group_of(std::size_t sub) const noexcept;
  void handler_finished(std::size_t sub);
  // Runs handlers one after another, taking messages from queue_, until drain() ends it.
  boost::asio::awaitable<void> worker(in_flight_entry& self);
  void start_workers();
  double unit_random() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  client& client_;
  std::vector<subscription> subs_;
  std::vector<std::string> stream_names_;  // subs_[i].keys.stream(), for stream_read_reply
  std::vector<id_list> pending_acks_;    // per subscription, not yet sent
  std::vector<id_list> acks_in_flight_;  // per subscription, sent, unconfirmed
  // One waiter each; cancelled to wake it (re-armed by the waiter itself).
  boost::asio::steady_timer credit_wake_;  // read loop: a handler slot freed
  boost::asio::steady_timer ack_wake_;     // ack loop: acknowledgements queued
  boost::asio::steady_timer drain_wake_;   // shutdown: a handler finished
  boost::asio::steady_timer work_wake_;    // idle workers: a message was queued (cancel_one)
  boost::asio::steady_timer retry_wake_;   // retry loop: a retry was scheduled here
  boost::asio::steady_timer relay_wake_;   // relay loop: outputs were committed to an outbox
  // effectively_once: publishes outbox outputs (made by the first such subscribe()).
  std::unique_ptr<publisher> relay_publisher_;
  std::unique_ptr<partitioned_publisher> relay_router_;
  bool relay_requested_ = false;
  std::map<std::string, topic_keys, std::less<>> output_keys_;  // output_keys()
  const std::chrono::steady_clock::time_point* lease_deadline_ = nullptr;  // watch_lease()  // a commit queued outputs since the relay's last pass began
  std::list<in_flight_entry> workers_;     // a list: workers hold references to their entry
  std::deque<queued_entry> queue_;
  // Entries handled, kept for the read loop's next reply to fill (stream_read_reply).
  std::vector<read_entry> spare_entries_;
  std::size_t workers_running_ = 0;
  std::size_t read_rotation_ = 0;  // plan_read's rotation: topics take turns when credit is short
  // The earliest retry this consumer scheduled since the retry loop last planned its sleep:
  // one scheduled while the loop's own request was in flight is not in that request's reply.
  std::chrono::steady_clock::time_point local_retry_due_ =
      std::chrono::steady_clock::time_point::max();
  bool stopping_ = false;      // drain() has begun: cancellations now mean shutdown
  bool stop_reading_ = false;  // run() is ending: send no further XREADGROUP
  bool lease_taken_ = false;   // a read found its gate gone: another member holds the lease
  // A reader met a cluster fault: every reader stops after its read in flight, and
  // read_slots() regroups the topics by the topology read then. What the read met:
  bool reroute_ = false;
  error_code reroute_cause_;
  std::minstd_rand rng_;
  std::atomic<bool> running_{false};
  std::exception_ptr fatal_;  // why run() must end, found by one of its loops
  stop_request stop_;
  consumer_counters stats_;
  mutable std::mutex error_mutex_;  // guards the last_error_* fields (health() reads them)
  error_code last_error_;
  std::string last_error_detail_;
  std::chrono::system_clock::time_point last_error_at_{};
};

}  // namespace streamq::streams::detail
