#include <streamq/redis/error.hpp>
#include <streamq/streams/dead_letters.hpp>

#include "commands/delivery_commands.hpp"
#include "script.hpp"

#include <streamq_lua_scripts.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/errc.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

namespace streamq::streams {
namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Adds the entry and deletes the dead letter only if the dead letter still exists (else
// returns ""): lib/streams/scripts/republish_dead_letter-2.lua.
const detail::lua_script& republish_script() {
  static const detail::lua_script script(detail::lua::republish_dead_letter);
  return script;
}

using fields = std::vector<std::string>;

[[noreturn]] void fail(error_code ec, const std::string& what = {}) {
  throw boost::system::system_error(ec, what);
}

error_code not_found() {
  return boost::system::errc::make_error_code(boost::system::errc::no_such_file_or_directory);
}

// Runs `req`; throws for transport failures and for top-level error replies (which include
// commands refused while queueing a transaction).
asio::awaitable<std::vector<resp::value>> exec(client& c, const resp::request& req) {
  resp::generic_response replies;
  auto [ec] = co_await c.async_exec(req, replies, use_tuple);
  if (ec) fail(ec);
  for (const auto& reply : replies.values())
    if (reply.is_error()) fail(resp::classify_server_error(reply.text), reply.text);
  co_return std::move(replies.values());
}

// The replies of a MULTI ... EXEC request with `commands` commands; throws if it aborted or
// a command failed inside it.
const std::vector<resp::value>& exec_results(const std::vector<resp::value>& replies,
                                             std::size_t commands) {
  const resp::value& exec = replies.back();
  if (exec.is_null() || exec.elements.size() != commands)
    fail(resp::server_errc::execabort, "transaction discarded");
  for (const auto& element : exec.elements)
    if (element.is_error()) fail(resp::classify_server_error(element.text), element.text);
  return exec.elements;
}

std::size_t to_size(const resp::value& v) {
  return static_cast<std::size_t>(std::strtoull(v.text.c_str(), nullptr, 10));
}

dead_letter_entry to_entry(const resp::value& v) {
  dead_letter_entry entry;
  if (v.elements.size() != 2) {
    entry.error = errc::malformed_entry;
    return entry;
  }
  entry.id = v.elements[0].text;
  fields f;
  f.reserve(v.elements[1].elements.size());
  for (const auto& x : v.elements[1].elements) f.push_back(x.text);
  entry.error = decode_dead_letter(f, entry.letter);
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

dead_letters::dead_letters(client& c, std::string_view topic, std::string_view group)
    : client_(c), keys_(topic), group_(group), key_(keys_.dead_letters(group)) {}

asio::any_io_executor dead_letters::executor() const { return client_.get_executor(); }

asio::awaitable<std::vector<dead_letter_entry>> dead_letters::range(std::string start,
                                                                    std::string end,
                                                                    std::size_t count) {
  if (count == 0) co_return std::vector<dead_letter_entry>{};
  resp::request req;
  req.push("XRANGE", resp::key{key_}, start, end, "COUNT", count);
  const auto replies = co_await exec(client_, req);
  std::vector<dead_letter_entry> entries;
  entries.reserve(replies.front().elements.size());
  for (const auto& v : replies.front().elements) entries.push_back(to_entry(v));
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
  resp::request req;
  req.push("XLEN", resp::key{key_});
  co_return to_size((co_await exec(client_, req)).front());
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
  auto build = [&](resp::request& req, bool by_source) {
    republish_script().push(req, by_source, 2, resp::key{key_}, resp::key{keys_.stream()}, id, f);
  };
  resp::response<std::string> reply;
  if (const auto ec = co_await detail::exec_script(client_, reply, build)) fail(ec);
  auto& result = reply.get<0>();
  if (!result.has_value()) fail(result.error(), result.diagnostic());
  auto new_id = std::move(result.value());
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
  resp::request req;
  req.push("XDEL", resp::key{key_}, id);
  co_return to_size((co_await exec(client_, req)).front()) > 0;
}

asio::awaitable<std::size_t> dead_letters::purge_all() {
  resp::request req;
  req.push("MULTI");
  req.push("XLEN", resp::key{key_});
  req.push("DEL", resp::key{key_});
  req.push("EXEC");
  const auto replies = co_await exec(client_, req);
  co_return to_size(exec_results(replies, 2).front());
}

}  // namespace streamq::streams
