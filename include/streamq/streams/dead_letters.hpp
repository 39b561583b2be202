#pragma once
// Inspecting, requeueing and purging the dead letters of one topic and consumer group: the
// entries of "streamq:{T}:dead:<group>" (docs/wire-format.md, section 5).
//
//   dead_letters dl(client, "orders", "billing");
//   for (const auto& e : co_await dl.list()) log(e.id, e.letter.last_error());
//   co_await dl.requeue_all();  // after the bug was fixed
//
// Every method is a coroutine on the client's shared connection and throws
// boost::system::system_error on failure: a redis::client_errc for transport failures, a
// resp::server_errc when Redis refused a command. Requeueing and purging are atomic per entry
// (requeue_range: per batch), so a crash or a lost connection never loses a dead letter nor
// leaves it both requeued and dead; a lost reply can leave the outcome unknown, which list()
// shows.

#include <streamq/client.hpp>
#include <streamq/detail/async_op.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::streams {

namespace detail {
enum class requeue_status : std::int8_t;
}

// One entry of a dead-letter stream.
struct dead_letter_entry {
  std::string id;         // its entry ID in the dead-letter stream (not the original one)
  v1::DeadLetter letter;  // empty when !decoded
  // False when the entry is not a valid dead letter (written by something else, or by a newer
  // envelope format): `letter` is then empty and `error` says why. Such entries are listed,
  // never skipped; requeue refuses them, purge removes them.
  bool decoded = false;
  error_code error;
};

class dead_letters {
 public:
  // How many entries one requeue_range / requeue_all transaction moves.
  static constexpr std::size_t batch_size = 100;

  // Throws std::invalid_argument for an invalid topic or group name or key prefix (names.hpp).
  // `key_prefix` must be the consumer's (consumer_config::key_prefix). `c` must outlive this
  // object.
  dead_letters(client& c, std::string_view topic, std::string_view group,
               std::string_view key_prefix = default_key_prefix);

  [[nodiscard]] const std::string& topic() const noexcept { return keys_.topic(); }
  [[nodiscard]] const std::string& group() const noexcept { return group_; }
  // The dead-letter stream's key: "streamq:{T}:dead:<group>".
  [[nodiscard]] const std::string& key() const noexcept { return key_; }

  // Up to `count` dead letters, oldest first (XRANGE): from the start when `after` is "-",
  // otherwise those whose ID is strictly greater than `after` (pass the last ID seen to
  // page). (Overloads rather than default arguments, as everywhere in streamq's coroutines.)
  boost::asio::awaitable<std::vector<dead_letter_entry>> list();
  boost::asio::awaitable<std::vector<dead_letter_entry>> list(std::size_t count);
  boost::asio::awaitable<std::vector<dead_letter_entry>> list(std::size_t count,
                                                              std::string_view after);

  // The dead letter with entry ID `id`, or nullopt when there is none.
  boost::asio::awaitable<std::optional<dead_letter_entry>> get(std::string_view id);

  // How many dead letters there are (XLEN).
  boost::asio::awaitable<std::size_t> count();

  // Hands dead letter `id` back to its consumer group, and to no other group, then deletes it,
  // atomically (one Lua script; two concurrent requeues requeue once). The topic entry it came
  // from (still in the stream under letter.original_entry_id()) becomes pending in the group
  // again with a delivery count of 0, and is due for a retry at once: a consumer of the group
  // takes it over and runs it with a full set of attempts (an entry written by wave-1 retries
  // keeps the attempts its envelope records). Letters holding raw_fields are requeued the same
  // way. Returns the topic entry ID. Throws system_error with
  // boost::system::errc::no_such_file_or_directory when there is no dead letter `id` (or it
  // was requeued or purged meanwhile), errc::entry_gone when the topic entry was trimmed or
  // deleted (nothing changes: republish() it), and errc::malformed_entry when the entry is not
  // a valid dead letter (purge it instead).
  boost::asio::awaitable<std::string> requeue(std::string_view id);

  // Requeues (as requeue() does) the dead letters with IDs from `first` to `last`, inclusive
  // ("-" and "+" for the ends), oldest first, at most `max`, each atomically. Letters that are
  // not valid, or whose topic entry is gone, are left in place. Returns how many were
  // requeued. A failure throws after the ones before it were requeued.
  boost::asio::awaitable<std::size_t> requeue_range(std::string_view first, std::string_view last);
  boost::asio::awaitable<std::size_t> requeue_range(std::string_view first, std::string_view last,
                                                    std::size_t max);
  // requeue_range("-", "+") without a limit.
  boost::asio::awaitable<std::size_t> requeue_all();

  // Publishes dead letter `id` again as a NEW topic entry and deletes it, atomically: its
  // envelope with attempt 0 (message_id, headers, payload kept), or its raw_fields unchanged.
  // Every consumer group of the topic receives the new entry, not only this one: for letters
  // whose entry is gone (errc::entry_gone from requeue()). Returns the new entry ID; throws as
  // requeue() does.
  boost::asio::awaitable<std::string> republish(std::string_view id);

  // Deletes dead letter `id` (XDEL); false when there was none.
  boost::asio::awaitable<bool> purge(std::string_view id);
  // Deletes every dead letter of the group (XLEN and DEL in one transaction); returns how
  // many there were.
  boost::asio::awaitable<std::size_t> purge_all();

  // The operations above for any completion token (use_awaitable by default, as_tuple,
  // use_future, deferred, a callback): completion void(error_code, T), where the coroutine
  // forms throw (detail/async_op.hpp). Arguments are copied when called.
  // Cancellation (terminal only; partial and total are ignored): the operation stops at its
  // next request and completes with operation_aborted or the request's error; a request
  // already sent runs to its end on the server. Each requeue is one script, so a cancelled requeue_range leaves
  // every letter either requeued or in place, never half-moved.
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_list(std::size_t count, std::string_view after, Token&& token = {}) {
    return streamq::detail::start_async(executor(), list(count, after), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_get(std::string_view id, Token&& token = {}) {
    return streamq::detail::start_async(executor(), get(id), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_count(Token&& token = {}) {
    return streamq::detail::start_async(executor(), count(), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_requeue(std::string_view id, Token&& token = {}) {
    return streamq::detail::start_async(executor(), requeue(id), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_requeue_range(std::string_view first, std::string_view last, std::size_t max,
                           Token&& token = {}) {
    return streamq::detail::start_async(executor(), requeue_range(first, last, max),
                               std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_requeue_all(Token&& token = {}) {
    return streamq::detail::start_async(executor(), requeue_all(), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_republish(std::string_view id, Token&& token = {}) {
    return streamq::detail::start_async(executor(), republish(id), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_purge(std::string_view id, Token&& token = {}) {
    return streamq::detail::start_async(executor(), purge(id), std::forward<Token>(token));
  }
  template <class Token = boost::asio::use_awaitable_t<>>
  auto async_purge_all(Token&& token = {}) {
    return streamq::detail::start_async(executor(), purge_all(), std::forward<Token>(token));
  }

 private:
  boost::asio::any_io_executor executor() const;
  boost::asio::awaitable<std::vector<dead_letter_entry>> range(std::string start,
                                                               std::string end,
                                                               std::size_t count);
  boost::asio::awaitable<std::optional<dead_letter_entry>> do_get(std::string id);
  boost::asio::awaitable<std::string> do_requeue(std::string id);
  boost::asio::awaitable<std::string> do_republish(std::string id);
  boost::asio::awaitable<std::size_t> do_requeue_range(std::string first, std::string last,
                                                       std::size_t max);
  boost::asio::awaitable<bool> do_purge(std::string id);
  boost::asio::awaitable<detail::requeue_status> requeue_one(const dead_letter_entry& entry);

  client& client_;
  topic_keys keys_;
  std::string group_;
  std::string key_;
};

}  // namespace streamq::streams
