#include <streamq/redis/error.hpp>
#include <streamq/streams/dead_letters.hpp>

#include "commands/dead_letter_requests.hpp"
#include "commands/delivery_commands.hpp"
#include "commands/send_command.hpp"

#include <boost/system/errc.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <limits>
#include <utility>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

using fields = std::vector<std::string>;

[[noreturn]] void fail(error_code ec, const std::string& what = {}) {
  throw boost::system::system_error(ec, what);
}

// Throws a failed command's error: the transport's, the server's refusal (with its text) or a
// malformed reply.
void check(const detail::send_result& result) {
  if (!result) fail(result.ec(), result.reply.diagnostic);
}

error_code not_found() {
  return boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory);
}

dead_letter_entry to_entry(detail::stream_entry&& v) {
  dead_letter_entry entry;
  entry.id = std::move(v.id);
  entry.error = decode_dead_letter(v.fields, entry.letter);
  entry.decoded = !entry.error;
  if (!entry.decoded) entry.letter.Clear();
  return entry;
}

// The topic entry republishing `entry` adds: the envelope with attempt 0, or the raw fields as
// they were. Empty when there is nothing to republish.
fields republish_fields(const dead_letter_entry& entry) {
  if (!entry.decoded) return {};
  if (entry.letter.has_envelope()) {
    v1::Envelope envelope = entry.letter.envelope();
    envelope.set_attempt(0);
    auto encoded = encode_entry(envelope);
    return {encoded.begin(), encoded.end()};
  }
  fields f;
  for (const auto& raw : entry.letter.raw_fields()) {
    f.push_back(raw.name());
    f.push_back(raw.value());
  }
  return f;
}

}  // namespace

dead_letters::dead_letters(client& c, std::string_view topic, std::string_view group,
                           std::string_view key_prefix)
    : client_(c), keys_(topic, key_prefix), group_(group), key_(keys_.dead_letters(group)) {}

asio::any_io_executor dead_letters::executor() const {
  return client_.get_executor();
}

asio::awaitable<std::vector<dead_letter_entry>> dead_letters::range(std::string start,
                                                                    std::string end,
                                                                    std::size_t count) {
  if (count == 0) co_return std::vector<dead_letter_entry>{};
  std::vector<detail::stream_entry> read;
  check(co_await detail::send_command(
      client_,
      [&](resp::request& req) { detail::build_dead_letter_range(req, key_, start, end, count); },
      [&](const resp::value& reply) { return detail::decode_dead_letter_range(reply, read); }));
  std::vector<dead_letter_entry> entries;
  entries.reserve(read.size());
  for (auto& v : read) entries.push_back(to_entry(std::move(v)));
  co_return entries;
}

asio::awaitable<std::vector<dead_letter_entry>> dead_letters::list() {
  return range("-", "+", 100);
}

asio::awaitable<std::vector<dead_letter_entry>> dead_letters::list(std::size_t count) {
  return range("-", "+", count);
}

asio::awaitable<std::vector<dead_letter_entry>> dead_letters::list(std::size_t count,
                                                                   std::string_view after) {
  return range(after == "-" ? std::string("-") : "(" + std::string(after), "+", count);
}

// The public calls taking string_views are plain functions that copy them into the coroutine
// they return: awaitables start lazily, after the caller's strings may be gone.
asio::awaitable<std::optional<dead_letter_entry>> dead_letters::get(std::string_view id) {
  return do_get(std::string(id));
}

asio::awaitable<std::optional<dead_letter_entry>> dead_letters::do_get(std::string id) {
  auto entries = co_await range(id, id, 1);
  if (entries.empty()) co_return std::nullopt;
  co_return std::move(entries.front());
}

asio::awaitable<std::size_t> dead_letters::count() {
  std::uint64_t n = 0;
  check(co_await detail::send_command(
      client_, [&](resp::request& req) { detail::build_dead_letter_count(req, key_); },
      [&](const resp::value& reply) { return detail::decode_dead_letter_count(reply, n); }));
  co_return static_cast<std::size_t>(n);
}

asio::awaitable<std::string> dead_letters::requeue(std::string_view id) {
  return do_requeue(std::string(id));
}

asio::awaitable<std::string> dead_letters::do_requeue(std::string id) {
  auto entry = co_await do_get(id);
  if (!entry) fail(not_found(), "dead letter " + std::string(id) + " in " + key_);
  if (!entry->decoded || entry->letter.original_entry_id().empty())
    fail(errc::malformed_entry, "dead letter " + std::string(id) + " in " + key_);
  const auto status = co_await requeue_one(*entry);
  if (status == detail::requeue_status::missing)  // requeued or purged since get()
    fail(not_found(), "dead letter " + std::string(id) + " in " + key_);
  if (status == detail::requeue_status::gone)
    fail(errc::entry_gone, "entry " + entry->letter.original_entry_id() + " of dead letter " +
                               std::string(id) + " is no longer in " + keys_.stream() +
                               "; republish() it instead");
  co_return entry->letter.original_entry_id();
}

asio::awaitable<detail::requeue_status> dead_letters::requeue_one(const dead_letter_entry& entry) {
  // The entry is handed back to this group only, owned by the consumer that gave up on it
  // until a consumer of the group takes its retry (at once: it is due now).
  std::string owner = entry.letter.consumer();
  if (!is_valid_name(owner)) owner = "streamq-requeue";
  detail::requeue_status status{};
  const auto result = co_await detail::requeue_dead_letter(
      client_, keys_, group_, entry.id, entry.letter.original_entry_id(), owner, status);
  if (!result) fail(result.ec, result.diagnostic);
  co_return status;
}

asio::awaitable<std::string> dead_letters::republish(std::string_view id) {
  return do_republish(std::string(id));
}

asio::awaitable<std::string> dead_letters::do_republish(std::string id) {
  auto entry = co_await do_get(id);
  if (!entry) fail(not_found(), "dead letter " + std::string(id) + " in " + key_);
  const fields f = republish_fields(*entry);
  if (f.empty()) fail(errc::malformed_entry, "dead letter " + std::string(id) + " in " + key_);
  std::string new_id;
  check(co_await detail::send_script(
      client_,
      [&](resp::request& req, bool by_source) {
        detail::build_republish_dead_letter(req, by_source, key_, keys_.stream(), id, f);
      },
      [&](const resp::value& reply) {
        return detail::decode_republish_dead_letter(reply, new_id);
      }));
  if (new_id.empty())  // requeued or purged since get()
    fail(not_found(), "dead letter " + std::string(id) + " in " + key_);
  co_return new_id;
}

asio::awaitable<std::size_t> dead_letters::requeue_range(std::string_view first,
                                                         std::string_view last) {
  return requeue_range(first, last, std::numeric_limits<std::size_t>::max());
}

asio::awaitable<std::size_t> dead_letters::requeue_range(std::string_view first,
                                                         std::string_view last, std::size_t max) {
  return do_requeue_range(std::string(first), std::string(last), max);
}

asio::awaitable<std::size_t> dead_letters::do_requeue_range(std::string first, std::string last,
                                                            std::size_t max) {
  std::string cursor(std::move(first));
  std::size_t requeued = 0;
  while (requeued < max) {
    const std::size_t wanted = std::min(batch_size, max - requeued);
    const auto entries = co_await range(cursor, last, wanted);
    if (entries.empty()) break;
    cursor = "(" + entries.back().id;
    for (const auto& entry : entries) {
      // Not a valid dead letter, or its entry is gone (republish() it): left in place.
      if (!entry.decoded || entry.letter.original_entry_id().empty()) continue;
      const auto status = co_await requeue_one(entry);
      if (status == detail::requeue_status::requeued ||
          status == detail::requeue_status::already_pending)
        ++requeued;
      if (requeued == max) break;
    }
    if (entries.size() < wanted) break;
  }
  co_return requeued;
}

asio::awaitable<std::size_t> dead_letters::requeue_all() {
  return requeue_range("-", "+", std::numeric_limits<std::size_t>::max());
}

asio::awaitable<bool> dead_letters::purge(std::string_view id) {
  return do_purge(std::string(id));
}

asio::awaitable<bool> dead_letters::do_purge(std::string id) {
  bool deleted = false;
  check(co_await detail::send_command(
      client_, [&](resp::request& req) { detail::build_purge_dead_letter(req, key_, id); },
      [&](const resp::value& reply) { return detail::decode_purge_dead_letter(reply, deleted); }));
  co_return deleted;
}

asio::awaitable<std::size_t> dead_letters::purge_all() {
  std::uint64_t removed = 0;
  check(co_await detail::send_commands(
      client_, [&](resp::request& req) { detail::build_purge_dead_letters(req, key_); },
      [&](std::span<const resp::value> replies) {
        return detail::decode_purge_dead_letters(replies, removed);
      }));
  co_return static_cast<std::size_t>(removed);
}

}  // namespace streamq::streams
