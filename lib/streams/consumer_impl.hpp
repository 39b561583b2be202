#pragma once
// The state and coroutines behind streams::consumer: the XREADGROUP loop on a dedicated
// connection, handler dispatch with credit-based flow control, batched acknowledgements,
// retries, dead letters and recovery of entries left by dead consumers.

#include <streamq/streams/consumer.hpp>

#include "stream_reply.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <exception>
#include <list>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace streamq::streams::detail {

// One of the `concurrency` handler workers, and the message it is handling (when busy).
struct in_flight_entry {
  boost::asio::cancellation_signal signal;  // stops the handler (shutdown, timeout)
  bool busy = false;
  std::size_t sub = 0;
  std::string id;
  // When handler_timeout cancels the handler (max: never), and whether it did.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool timed_out = false;
};

// A delivered message waiting for a free worker.
struct queued_entry {
  std::size_t sub = 0;
  std::string id;
  std::vector<std::string> fields;
};

struct subscription {
  topic_keys keys;
  std::string type_name;
  consumer::raw_handler handler;
  subscription_options options;
  std::string processed_key;  // keys.processed(group), with options.once
};

class consumer_impl {
 public:
  consumer_impl(client& c, consumer_config config);

  void subscribe(std::string_view topic, std::string type_name, const subscription_options& options,
                 consumer::raw_handler handler);
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<std::vector<topic_status>> inspect();
  consumer_health health() const noexcept;
  void report(consumer_event::kind what, const std::string& topic, std::string detail);

  consumer_stats stats_;
  consumer_config config_;

 private:
  using fields = std::vector<std::string>;

  boost::asio::awaitable<void> run_once();  // run() apart from its running_ bookkeeping
  boost::asio::awaitable<void> ensure_groups();
  boost::asio::awaitable<bool> group_exists(const std::string& stream);
  boost::asio::awaitable<void> recover_own_pending(redis::connection& conn);
  boost::asio::awaitable<void> read_loop(redis::connection& conn);
  // Runs `conn` and the reads on it; on cancellation lets a read already sent finish first.
  boost::asio::awaitable<void> read_side(redis::connection& conn);
  // Runs a loop as a branch of run()'s ||: a failure is recorded in fatal_, not thrown.
  boost::asio::awaitable<void> guarded(boost::asio::awaitable<void> loop);
  boost::asio::awaitable<void> claim_loop();
  boost::asio::awaitable<void> claim_topic(std::size_t sub);
  boost::asio::awaitable<void> ack_loop();
  boost::asio::awaitable<void> keepalive_loop();
  boost::asio::awaitable<void> timeout_loop();
  boost::asio::awaitable<void> flush_acks();
  // Runs `op` where run()'s cancellation cannot reach it: for requests whose withdrawal would
  // strand work (an XACK, an XAUTOCLAIM). `op` must bound its own time.
  boost::asio::awaitable<void> uncancellable(boost::asio::awaitable<void> op);
  boost::asio::awaitable<void> drain();

  // Reads an XREADGROUP reply; dispatches (or, for deleted entries, acknowledges) each entry.
  // Returns how many entries it saw per subscription index order, and the last IDs.
  std::size_t take_entries(std::vector<read_entry>& entries, std::vector<std::string>* last_ids);
  void dispatch(std::size_t sub, std::string id, fields entry);
  boost::asio::awaitable<void> handle(in_flight_entry& flight, fields entry);
  // Runs the handler within handler_timeout; returns the failure, if any, and its text.
  boost::asio::awaitable<std::pair<error_code, std::string>> run_handler(
      in_flight_entry& flight, const v1::Envelope& envelope, message_context& ctx);
  boost::asio::awaitable<void> dead_letter(std::size_t sub, const std::string& id,
                                           const v1::Envelope* envelope, const fields& entry,
                                           error_code why, const std::string& text);
  boost::asio::awaitable<void> requeue(std::size_t sub, const std::string& id,
                                       v1::Envelope envelope);
  void ack(std::size_t sub, std::string id);
  // subscription_options::once: whether `message_key` was handled already, and recording it
  // together with the acknowledgement. False when the record could not be written (the
  // entry stays pending and comes back).
  boost::asio::awaitable<bool> already_processed(std::size_t sub, const std::string& message_key);
  boost::asio::awaitable<bool> ack_processed(std::size_t sub, const std::string& id,
                                             const std::string& message_key);
  std::chrono::milliseconds backoff(std::uint32_t attempt);
  void record_latency(std::chrono::steady_clock::duration took) noexcept;
  std::size_t credit() const noexcept;
  std::vector<resp::key> stream_keys() const;
  void handler_finished();
  // Runs handlers one after another, taking messages from queue_, until drain() ends it.
  boost::asio::awaitable<void> worker(in_flight_entry& self);
  void start_workers();
  boost::asio::awaitable<bool> exec_shared(const resp::request& req, resp::response_adapter& resp);

  client& client_;
  std::vector<subscription> subs_;
  std::vector<std::string> stream_names_;  // subs_[i].keys.stream(), for stream_read_reply
  std::vector<std::vector<std::string>> pending_acks_;  // per subscription
  // One waiter each; cancelled to wake it (re-armed by the waiter itself).
  boost::asio::steady_timer credit_wake_;  // read loop: a handler slot freed
  boost::asio::steady_timer ack_wake_;     // ack loop: acknowledgements queued
  boost::asio::steady_timer drain_wake_;   // shutdown: a handler finished
  boost::asio::steady_timer work_wake_;    // idle workers: a message was queued (cancel_one)
  std::list<in_flight_entry> workers_;     // a list: workers hold references to their entry
  std::deque<queued_entry> queue_;
  std::size_t workers_running_ = 0;
  bool stopping_ = false;      // drain() has begun: cancellations now mean shutdown
  bool stop_reading_ = false;  // run() is ending: send no further XREADGROUP
  std::minstd_rand rng_;
  bool running_ = false;
  std::exception_ptr fatal_;  // why run() must end, found by one of its loops
};

}  // namespace streamq::streams::detail
