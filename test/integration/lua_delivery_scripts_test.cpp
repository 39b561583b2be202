// The consumer's delivery scripts of lib/streams/scripts/ on their own, against a real
// redis-server (claim_entries, dead_letter, requeue_dead_letter, schedule_retry,
// take_due_retries): keys and arguments in, reply and Redis state out, refusals and edge cases
// included. Like lua_scripts_test.cpp, every case's first call follows SCRIPT FLUSH.
#include "lua_script_calls.hpp"

#include <string>
#include <thread>
#include <vector>

using namespace streamq::test::lua_calls;
using namespace std::chrono_literals;

// Keys and arguments go in the order lib/streams/commands/delivery_requests.cpp passes them.
namespace {

// The texts of an array's elements.
strings texts(const value& v) {
  strings out;
  for (const auto& e : v.elements) out.push_back(e.text);
  return out;
}

// Joined with spaces, so a failed comparison prints both sides.
std::string joined(const strings& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

// joined() of the arguments. (No braced list: GCC 12 and co_await in the same expression.)
template <class... A>
std::string words(const A&... parts) {
  return joined(strings{std::string(parts)...});
}

const std::error_code nogroup = make_error_code(streamq::resp::server_errc::nogroup);

// The members of a sorted set, lowest score first.
asio::awaitable<std::string> members(client& c, const std::string& zset) {
  co_return joined(texts(co_await cmd(c, "ZRANGE", zset, "0", "-1")));
}

// The IDs of a stream's entries, oldest first.
asio::awaitable<std::string> entry_ids(client& c, const std::string& stream) {
  strings ids;
  for (const auto& e : (co_await cmd(c, "XRANGE", stream, "-", "+")).elements)
    ids.push_back(e.elements.at(0).text);
  co_return joined(ids);
}

// The group's pending row of `id`: [id, owner, idle ms, deliveries], no elements when the
// entry is not pending.
asio::awaitable<value> pending(client& c, const std::string& stream, const std::string& group,
                               const std::string& id) {
  auto rows = co_await cmd(c, "XPENDING", stream, group, id, id, "1");
  REQUIRE(rows.elements.size() <= 1);
  if (rows.elements.empty()) co_return value{};
  REQUIRE(rows.elements[0].elements.size() == 4);
  co_return std::move(rows.elements[0]);
}

asio::awaitable<std::string> owner(client& c, const std::string& stream, const std::string& group,
                                   const std::string& id) {
  const auto row = co_await pending(c, stream, group, id);
  co_return row.elements.empty() ? std::string() : row.elements[1].text;
}

// -1 when the entry is not pending.
asio::awaitable<long long> deliveries(client& c, const std::string& stream,
                                      const std::string& group, const std::string& id) {
  const auto row = co_await pending(c, stream, group, id);
  co_return row.elements.empty() ? -1 : std::stoll(row.elements[3].text);
}

// `count` entries "f" = "v<i>" in `stream`, a group "g" at its start, and all of them read by
// consumer "a" (one delivery each). Returns their IDs.
asio::awaitable<strings> delivered_to_a(client& c, const std::string& stream, int count) {
  strings ids;
  for (int i = 0; i < count; ++i)
    ids.push_back(co_await text(c, "XADD", stream, "*", "f", "v" + std::to_string(i)));
  co_await cmd(c, "XGROUP", "CREATE", stream, "g", "0");
  co_await cmd(c, "XREADGROUP", "GROUP", "g", "a", "COUNT", std::to_string(count), "STREAMS",
               stream, ">");
  co_return ids;
}

}  // namespace

TEST_CASE("lua scripts: claim_entries claims idle entries at their count and skips the rest") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", retry = "{t}:retry";
    const strings keys{s, retry};
    const auto ids = co_await delivered_to_a(c, s, 7);
    // ids[0]: claimable, delivered 3 times so far.
    co_await cmd(c, "XCLAIM", s, "g", "a", "0", ids[0], "RETRYCOUNT", "3", "JUSTID");
    co_await cmd(c, "ZADD", retry, "1", ids[1]);  // ids[1]: waits for its retry
    // ids[2]: the caller's count "0" is stale (it is 1 now).
    co_await cmd(c, "XDEL", s, ids[3]);       // ids[3]: pending, its data gone
    co_await cmd(c, "XACK", s, "g", ids[4]);  // ids[4]: no longer pending
    co_await cmd(c, "XCLAIM", s, "g", "x", "0", ids[6], "JUSTID");  // ids[6]: owned by x
    const strings rows{ids[0], "3", ids[1], "1", ids[2], "0",
                       ids[3], "1", ids[4], "1", ids[6], "1"};
    auto claim = [&](std::string consumer, std::string min_idle, std::string required,
                     strings expected) {
      strings args{"g", std::move(consumer), std::move(min_idle), std::move(required)};
      args.insert(args.end(), expected.begin(), expected.end());
      return run(c, lua::claim_entries, keys, std::move(args));
    };

    // Not idle long enough: nothing is claimed, and the deleted entry is not acked either.
    strings young_args{"g", "b", "3600000", "a"};
    young_args.insert(young_args.end(), rows.begin(), rows.end());
    const auto young = co_await run_flushed(c, lua::claim_entries, keys, young_args);
    REQUIRE_FALSE(young.error);
    REQUIRE(young.v.elements.size() == 2);
    CHECK(young.v.elements[0].elements.empty());
    CHECK(young.v.elements[1].elements.empty());
    CHECK(co_await owner(c, s, "g", ids[0]) == "a");
    CHECK(co_await owner(c, s, "g", ids[3]) == "a");

    co_await streamq::test::sleep_for(200ms);
    const auto taken = co_await claim("b", "100", "a", rows);
    REQUIRE_FALSE(taken.error);
    REQUIRE(taken.v.elements.size() == 2);
    const auto& claimed = taken.v.elements[0];
    REQUIRE(claimed.elements.size() == 3);
    CHECK(claimed.elements[0].text == ids[0]);
    CHECK(claimed.elements[1].text == "4");
    CHECK(joined(texts(claimed.elements[2])) == "f v0");
    CHECK(joined(texts(taken.v.elements[1])) == ids[3]);
    // The state: ids[0] is b's at count 4 with its idle time reset; ids[3] was acknowledged;
    // everything else is as it was.
    const auto row0 = co_await pending(c, s, "g", ids[0]);
    REQUIRE(row0.elements.size() == 4);
    CHECK(row0.elements[1].text == "b");
    CHECK(std::stoll(row0.elements[2].text) < 200);  // it was 200 before the claim
    CHECK(row0.elements[3].text == "4");
    CHECK(co_await deliveries(c, s, "g", ids[3]) == -1);
    CHECK(co_await deliveries(c, s, "g", ids[4]) == -1);
    const std::array untouched{1, 2, 5};
    for (const auto i : untouched) {
      INFO("ids[", i, "]");
      CHECK(co_await owner(c, s, "g", ids[i]) == "a");
      CHECK(co_await deliveries(c, s, "g", ids[i]) == 1);
    }
    CHECK(co_await owner(c, s, "g", ids[6]) == "x");
    CHECK(co_await members(c, retry) == ids[1]);
    CHECK(co_await number(c, "XLEN", s) == 6);  // only the XDEL removed data

    // A second claimer working from the same XPENDING snapshot (count 3) finds it moved.
    const strings stale{ids[0], "3"};
    const auto late = co_await claim("c", "0", "", stale);
    CHECK(late.v.elements.at(0).elements.empty());
    CHECK(co_await owner(c, s, "g", ids[0]) == "b");
    CHECK(co_await deliveries(c, s, "g", ids[0]) == 4);

    // No required owner: x's entry is taken too.
    const strings any_rows{ids[6], "1"};
    const auto any = co_await claim("b", "100", "", any_rows);
    REQUIRE(any.v.elements.at(0).elements.size() == 3);
    CHECK(any.v.elements[0].elements[0].text == ids[6]);
    CHECK(any.v.elements[0].elements[1].text == "2");
    CHECK(joined(texts(any.v.elements[0].elements[2])) == "f v6");
    CHECK(co_await owner(c, s, "g", ids[6]) == "b");
  });
}

TEST_CASE("lua scripts: dead_letter writes the letter and acknowledges, once, for the owner") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", dead = "{t}:dead", retry = "{t}:retry";
    const strings keys{s, dead, retry};
    const auto ids = co_await delivered_to_a(c, s, 2);
    co_await cmd(c, "ZADD", retry, "5", ids[0], "6", ids[1]);

    // Not the owner: nothing is written, nothing acknowledged, the retry kept.
    const auto stranger =
        co_await run_flushed(c, lua::dead_letter, keys, "g", "b", ids[0], "reason", "boom");
    REQUIRE_FALSE(stranger.error);
    CHECK(stranger.v.elements.empty());
    CHECK(stranger.v.text.empty());
    CHECK(co_await number(c, "EXISTS", dead) == 0);
    CHECK(co_await owner(c, s, "g", ids[0]) == "a");
    CHECK(co_await members(c, retry) == words(ids[0], ids[1]));

    const auto letter =
        co_await run(c, lua::dead_letter, keys, "g", "a", ids[0], "id", ids[0], "reason", "boom");
    REQUIRE_FALSE(letter.error);
    REQUIRE_FALSE(letter.v.text.empty());
    const auto letters = co_await cmd(c, "XRANGE", dead, "-", "+");
    REQUIRE(letters.elements.size() == 1);
    CHECK(letters.elements[0].elements.at(0).text == letter.v.text);
    CHECK(joined(texts(letters.elements[0].elements.at(1))) ==
          words("id", ids[0], "reason", "boom"));
    CHECK(co_await deliveries(c, s, "g", ids[0]) == -1);
    CHECK(co_await members(c, retry) == ids[1]);
    // The other entry is untouched, and the topic keeps the data (requeue needs it).
    CHECK(co_await owner(c, s, "g", ids[1]) == "a");
    CHECK(co_await entry_ids(c, s) == words(ids[0], ids[1]));

    // Twice, or for an entry that was never delivered: no second letter.
    CHECK((co_await run(c, lua::dead_letter, keys, "g", "a", ids[0], "reason", "again"))
              .v.text.empty());
    CHECK((co_await run(c, lua::dead_letter, keys, "g", "a", "1-1", "reason", "x")).v.text.empty());
    CHECK(co_await entry_ids(c, dead) == letter.v.text);

    // No such group: refused before the first write.
    const auto no_group = co_await run(c, lua::dead_letter, keys, "nope", "a", ids[1], "r", "x");
    CHECK(no_group.error == nogroup);
    CHECK(co_await entry_ids(c, dead) == letter.v.text);
    CHECK(co_await members(c, retry) == ids[1]);
    CHECK(co_await owner(c, s, "g", ids[1]) == "a");
  });
}

TEST_CASE(
    "lua scripts: requeue_dead_letter hands the entry back to its group once, or says why not") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", dead = "{t}:dead", retry = "{t}:retry";
    const strings keys{dead, s, retry};
    const auto ids = co_await delivered_to_a(c, s, 3);
    // ids[0] was dead-lettered (acknowledged); ids[1] is pending again; ids[2] was dead-lettered
    // and its data deleted since.
    co_await cmd(c, "XCLAIM", s, "g", "a", "0", ids[0], "RETRYCOUNT", "5", "JUSTID");
    co_await cmd(c, "XACK", s, "g", ids[0], ids[2]);
    co_await cmd(c, "XDEL", s, ids[2]);
    const auto d0 = co_await text(c, "XADD", dead, "*", "id", ids[0]);
    const auto d1 = co_await text(c, "XADD", dead, "*", "id", ids[1]);
    const auto d2 = co_await text(c, "XADD", dead, "*", "id", ids[2]);
    const auto d3 = co_await text(c, "XADD", dead, "*", "id", ids[0]);

    const auto before = co_await server_ms(c);
    const auto moved =
        co_await run_flushed(c, lua::requeue_dead_letter, keys, "g", d0, ids[0], "r");
    const auto after = co_await server_ms(c);
    REQUIRE_FALSE(moved.error);
    CHECK(joined(texts(moved.v)) == words("1", ids[0]));
    const auto row = co_await pending(c, s, "g", ids[0]);
    REQUIRE(row.elements.size() == 4);
    CHECK(row.elements[1].text == "r");
    CHECK(row.elements[3].text == "0");  // the count starts over
    CHECK(co_await members(c, retry) == ids[0]);
    const auto due = co_await number(c, "ZSCORE", retry, ids[0]);
    CHECK(due >= before);
    CHECK(due <= after);
    CHECK(co_await entry_ids(c, dead) == words(d1, d2, d3));

    // Again: the dead letter is gone, so nothing happens.
    const auto again = co_await run(c, lua::requeue_dead_letter, keys, "g", d0, ids[0], "r2");
    CHECK(joined(texts(again.v)) == "0");
    CHECK(co_await owner(c, s, "g", ids[0]) == "r");
    CHECK(co_await entry_ids(c, dead) == words(d1, d2, d3));

    // Pending already: the letter goes, the entry stays as it is (no retry added).
    const auto pending_already =
        co_await run(c, lua::requeue_dead_letter, keys, "g", d1, ids[1], "r");
    CHECK(joined(texts(pending_already.v)) == words("2", ids[1]));
    CHECK(co_await owner(c, s, "g", ids[1]) == "a");
    CHECK(co_await deliveries(c, s, "g", ids[1]) == 1);
    CHECK(co_await members(c, retry) == ids[0]);
    CHECK(co_await entry_ids(c, dead) == words(d2, d3));

    // The entry left the topic stream: the letter is kept, nothing changes.
    const auto gone = co_await run(c, lua::requeue_dead_letter, keys, "g", d2, ids[2], "r");
    CHECK(joined(texts(gone.v)) == "-1");
    CHECK(co_await deliveries(c, s, "g", ids[2]) == -1);
    CHECK(co_await members(c, retry) == ids[0]);
    CHECK(co_await entry_ids(c, dead) == words(d2, d3));

    // The group is gone: refused before the first write, the letter kept.
    const auto no_group = co_await run(c, lua::requeue_dead_letter, keys, "nope", d3, ids[0], "r");
    CHECK(no_group.error == nogroup);
    CHECK(co_await entry_ids(c, dead) == words(d2, d3));
    CHECK(co_await members(c, retry) == ids[0]);
  });
}

TEST_CASE(
    "lua scripts: schedule_retry schedules the owner's entry by the server clock, for the owner "
    "only") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", retry = "{t}:retry";
    const strings keys{s, retry};
    const auto ids = co_await delivered_to_a(c, s, 2);

    const auto before = co_await server_ms(c);
    const auto first = co_await run_flushed(c, lua::schedule_retry, keys, "g", "a", ids[0], "5000");
    REQUIRE_FALSE(first.error);
    REQUIRE(first.v.elements.size() == 3);
    CHECK(first.at(0) == "1");
    const auto now = std::stoll(first.at(2));
    CHECK(now >= before);
    CHECK(std::stoll(first.at(1)) == now + 5000);
    CHECK(co_await text(c, "ZSCORE", retry, ids[0]) == first.at(1));
    // The entry stays pending, the owner's, at its count.
    CHECK(co_await owner(c, s, "g", ids[0]) == "a");
    CHECK(co_await deliveries(c, s, "g", ids[0]) == 1);

    // Scheduled again: one retry per entry, due by the latest call.
    const auto second = co_await run(c, lua::schedule_retry, keys, "g", "a", ids[0], "60000");
    REQUIRE(second.v.elements.size() == 3);
    CHECK(std::stoll(second.at(1)) == std::stoll(second.at(2)) + 60000);
    CHECK(co_await members(c, retry) == ids[0]);
    CHECK(co_await text(c, "ZSCORE", retry, ids[0]) == second.at(1));

    // Another consumer's entry, an acknowledged one, a group that does not exist: not scheduled.
    const auto stranger = co_await run(c, lua::schedule_retry, keys, "g", "b", ids[1], "0");
    CHECK(joined(texts(stranger.v)) == "0");
    CHECK(co_await owner(c, s, "g", ids[1]) == "a");
    co_await cmd(c, "XACK", s, "g", ids[1]);
    const auto acked = co_await run(c, lua::schedule_retry, keys, "g", "a", ids[1], "0");
    CHECK(joined(texts(acked.v)) == "0");
    const auto no_group = co_await run(c, lua::schedule_retry, keys, "nope", "a", ids[0], "0");
    CHECK(no_group.error == nogroup);
    CHECK(co_await members(c, retry) == ids[0]);
    CHECK(co_await text(c, "ZSCORE", retry, ids[0]) == second.at(1));
  });
}

TEST_CASE("lua scripts: take_due_retries takes due retries soonest first, up to the limit") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", retry = "{t}:retry";
    const strings keys{s, retry};
    const auto ids = co_await delivered_to_a(c, s, 6);

    const auto before = co_await server_ms(c);
    const auto empty = co_await run_flushed(c, lua::take_due_retries, keys, "g", "b", "10");
    REQUIRE_FALSE(empty.error);
    REQUIRE(empty.v.elements.size() == 4);
    CHECK(std::stoll(empty.at(0)) >= before);
    CHECK(empty.at(1) == "-1");
    CHECK(empty.v.elements[2].elements.empty());
    CHECK(empty.v.elements[3].elements.empty());

    // Due in the order ids[1], ids[2], ids[0], ids[3] (acknowledged meanwhile), ids[4] (data
    // deleted); ids[5] due in an hour.
    const auto later = std::to_string(co_await server_ms(c) + 3'600'000);
    co_await cmd(c, "ZADD", retry, "3", ids[0], "1", ids[1], "2", ids[2], "4", ids[3], "5", ids[4],
                 later, ids[5]);
    co_await cmd(c, "XCLAIM", s, "g", "a", "0", ids[1], "RETRYCOUNT", "4", "JUSTID");
    co_await cmd(c, "XACK", s, "g", ids[3]);
    co_await cmd(c, "XDEL", s, ids[4]);

    const auto two = co_await run(c, lua::take_due_retries, keys, "g", "b", "2");
    REQUIRE(two.v.elements.size() == 4);
    CHECK(two.at(1) == "3");  // ids[0]'s, the next one left
    const auto& first = two.v.elements[2];
    REQUIRE(first.elements.size() == 6);
    CHECK(first.elements[0].text == ids[1]);
    CHECK(first.elements[1].text == "5");
    CHECK(joined(texts(first.elements[2])) == "f v1");
    CHECK(first.elements[3].text == ids[2]);
    CHECK(first.elements[4].text == "2");
    CHECK(joined(texts(first.elements[5])) == "f v2");
    CHECK(two.v.elements[3].elements.empty());
    CHECK(co_await owner(c, s, "g", ids[1]) == "b");
    CHECK(co_await deliveries(c, s, "g", ids[1]) == 5);
    CHECK(co_await owner(c, s, "g", ids[2]) == "b");
    CHECK(co_await deliveries(c, s, "g", ids[2]) == 2);
    CHECK(co_await owner(c, s, "g", ids[0]) == "a");
    CHECK(co_await members(c, retry) == words(ids[0], ids[3], ids[4], ids[5]));

    // The rest of the due ones: ids[0] claimed, ids[3] forgotten, ids[4] acknowledged as lost.
    const auto rest = co_await run(c, lua::take_due_retries, keys, "g", "b", "10");
    REQUIRE(rest.v.elements.size() == 4);
    CHECK(rest.at(1) == later);
    const auto& claimed = rest.v.elements[2];
    REQUIRE(claimed.elements.size() == 3);
    CHECK(claimed.elements[0].text == ids[0]);
    CHECK(claimed.elements[1].text == "2");
    CHECK(joined(texts(claimed.elements[2])) == "f v0");
    CHECK(joined(texts(rest.v.elements[3])) == ids[4]);
    CHECK(co_await owner(c, s, "g", ids[0]) == "b");
    CHECK(co_await deliveries(c, s, "g", ids[3]) == -1);
    CHECK(co_await deliveries(c, s, "g", ids[4]) == -1);
    CHECK(co_await members(c, retry) == ids[5]);
    CHECK(co_await owner(c, s, "g", ids[5]) == "a");
    CHECK(co_await deliveries(c, s, "g", ids[5]) == 1);

    // Nothing due until then.
    const auto none = co_await run(c, lua::take_due_retries, keys, "g", "b", "10");
    CHECK(none.v.elements.at(2).elements.empty());
    CHECK(none.at(1) == later);
    CHECK(co_await members(c, retry) == ids[5]);
  });
}

TEST_CASE(
    "lua scripts: a partition's retry, dead letter and once-only ack check the lease's owner and "
    "epoch and write nothing for a fenced-off member") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", retry = "{t}:retry", dead = "{t}:dead", lease = "{t}:lease",
                      processed = "{t}:processed";
    const auto ids = co_await delivered_to_a(c, s, 3);
    // Member "a" held the lease under epoch 1; "b" took it over (epoch 2) while "a" was paused.
    co_await cmd(c, "HSET", lease, "owner", "b", "epoch", "2", "until", "99999999999999");

    // "a", woken, still owns the entries in the group's pending list, but its epoch is gone.
    const strings retry_keys{s, retry, lease};
    const auto stale_retry =
        co_await run_flushed(c, lua::schedule_retry, retry_keys, "g", "a", ids[0], "0", "a", "1");
    CHECK(joined(texts(stale_retry.v)) == "-1");
    CHECK(co_await members(c, retry) == "");
    const strings dead_keys{s, dead, retry, lease};
    const auto stale_dead = co_await run_flushed(c, lua::dead_letter, dead_keys, "g", "a", ids[1],
                                                 "a", "1", "reason", "boom");
    CHECK(stale_dead.v.data_type == streamq::resp::type::integer);
    CHECK(stale_dead.v.text == "-1");
    CHECK(co_await entry_ids(c, dead) == "");
    CHECK(co_await owner(c, s, "g", ids[1]) == "a");  // still pending: the holder decides
    const strings once_keys{processed, s, lease};
    const auto stale_once = co_await run_flushed(c, lua::ack_processed, once_keys, "g", ids[2],
                                                 "order-3", "60000", "a", "1");
    CHECK(stale_once.v.text == "-1");
    CHECK(co_await members(c, processed) == "");
    CHECK(co_await owner(c, s, "g", ids[2]) == "a");
    // The right owner under an old epoch (a restart under the same name took it again) is
    // fenced off too.
    const auto old_epoch =
        co_await run(c, lua::schedule_retry, retry_keys, "g", "a", ids[0], "0", "b", "1");
    CHECK(joined(texts(old_epoch.v)) == "-1");

    // The holder of the lease, once the entries are its own, goes through.
    co_await cmd(c, "XCLAIM", s, "g", "b", "0", ids[0], ids[1], ids[2]);
    const auto held_retry =
        co_await run(c, lua::schedule_retry, retry_keys, "g", "b", ids[0], "0", "b", "2");
    REQUIRE(held_retry.v.elements.size() == 3);
    CHECK(held_retry.at(0) == "1");
    CHECK(co_await members(c, retry) == ids[0]);
    const auto held_dead = co_await run(c, lua::dead_letter, dead_keys, "g", "b", ids[1], "b", "2",
                                        "reason", "boom");
    REQUIRE_FALSE(held_dead.error);
    CHECK(co_await entry_ids(c, dead) == held_dead.v.text);
    const auto letter = co_await cmd(c, "XRANGE", dead, "-", "+");
    CHECK(joined(texts(letter.elements.at(0).elements.at(1))) == "reason boom");
    CHECK((co_await pending(c, s, "g", ids[1])).elements.empty());
    const auto held_once =
        co_await run(c, lua::ack_processed, once_keys, "g", ids[2], "order-3", "60000", "b", "2");
    CHECK(held_once.v.text == "1");
    CHECK(co_await members(c, processed) == "order-3");
  });
}

TEST_CASE(
    "lua scripts: commit_outputs writes outputs, record and ack together, only for the owner, "
    "once per message key, and nothing before a refusal") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", done = "{t}:done", outbox = "{t}:outbox", lease = "{t}:lease",
                      near = "{t}:near";
    const auto ids = co_await delivered_to_a(c, s, 4);
    // ARGV: group, consumer, entry, message key, retention, lease owner and epoch, the direct
    // count, the entry's field names, the direct envelopes, then topic and envelope pairs.
    // (Named, not braced in the co_await: GCC 12.)
    auto args = [](const std::string& consumer, const std::string& id, const std::string& key,
                   const std::string& owner, const std::string& epoch, bool direct) {
      strings a{"g", consumer, id, key, "60000", owner, epoch, direct ? "1" : "0", "v", "1", "e"};
      if (direct) a.push_back("D0");
      for (const char* f : {"far", "F0", "far2", "F1"}) a.push_back(f);
      return a;
    };
    // Unfenced, one direct output and two for the outbox.
    const strings with_near{s, done, outbox, near};
    const auto first_args = args("a", ids[0], "m-0", "", "0", true);
    const auto first = co_await run_flushed(c, lua::commit_outputs, with_near, first_args);
    CHECK(joined(texts(first.v)) == "1 1 2");
    const auto direct = co_await cmd(c, "XRANGE", near, "-", "+");
    REQUIRE(direct.elements.size() == 1);
    CHECK(joined(texts(direct.elements[0].elements.at(1))) == "v 1 e D0");
    const auto queued = co_await cmd(c, "XRANGE", outbox, "-", "+");
    REQUIRE(queued.elements.size() == 2);
    CHECK(joined(texts(queued.elements[0].elements.at(1))) == words("t far e F0 s", ids[0]));
    CHECK(joined(texts(queued.elements[1].elements.at(1))) == words("t far2 e F1 s", ids[0]));
    CHECK(co_await members(c, done) == "m-0");
    CHECK((co_await pending(c, s, "g", ids[0])).elements.empty());

    // Not the owner's, or no longer pending: nothing written.
    const strings plain{s, done, outbox};
    const auto stranger_args = args("b", ids[1], "m-1", "", "0", false);
    CHECK(joined(texts((co_await run(c, lua::commit_outputs, plain, stranger_args)).v)) == "0");
    const auto acked_args = args("a", ids[0], "m-x", "", "0", false);
    CHECK(joined(texts((co_await run(c, lua::commit_outputs, plain, acked_args)).v)) == "0");
    CHECK(co_await members(c, done) == "m-0");
    // A copy of message m-0 (another entry): acknowledged, its outputs not written.
    const auto copy_args = args("a", ids[1], "m-0", "", "0", false);
    CHECK(joined(texts((co_await run(c, lua::commit_outputs, plain, copy_args)).v)) == "2");
    CHECK((co_await pending(c, s, "g", ids[1])).elements.empty());
    CHECK((co_await cmd(c, "XLEN", outbox)).text == "2");

    // Fenced: the lease names another epoch, then this one.
    co_await cmd(c, "HSET", lease, "owner", "a", "epoch", "3");
    const strings fenced{s, done, outbox, lease};
    const auto stale_args = args("a", ids[2], "m-2", "a", "2", false);
    CHECK(joined(texts((co_await run(c, lua::commit_outputs, fenced, stale_args)).v)) == "-1");
    CHECK(co_await owner(c, s, "g", ids[2]) == "a");
    const auto held_args = args("a", ids[2], "m-2", "a", "3", false);
    CHECK(joined(texts((co_await run(c, lua::commit_outputs, fenced, held_args)).v)) == "1 0 2");

    // A key of another type: refused before anything is written.
    co_await cmd(c, "SET", near, "x");
    const auto wrong_args = args("a", ids[3], "m-3", "", "0", true);
    const auto wrong = co_await run(c, lua::commit_outputs, with_near, wrong_args);
    CHECK(wrong.error == streamq::resp::server_errc::wrongtype);
    CHECK(co_await owner(c, s, "g", ids[3]) == "a");
    CHECK((co_await cmd(c, "XLEN", outbox)).text == "4");
    CHECK(co_await members(c, done) == "m-0 m-2");
  });
}

TEST_CASE("lua scripts: a partition's claims and due retries check the lease's owner and epoch and take nothing for a fenced-off member") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string s = "{t}:s", retry = "{t}:retry", lease = "{t}:lease";
    const strings keys{s, retry, lease};
    const auto ids = co_await delivered_to_a(c, s, 3);
    co_await cmd(c, "HSET", lease, "owner", "b", "epoch", "4");
    const auto now = co_await server_ms(c);
    co_await cmd(c, "ZADD", retry, std::to_string(now - 1), ids[2]);  // due
    // claim_entries with the lease: ARGV group, consumer, min idle, required owner, lease owner
    // and epoch, then the rows. Another epoch, then another owner: [-1] and nothing moved.
    const strings stale{"g", "b", "0", "", "b", "3", ids[0], "1", ids[1], "1"};
    const auto refused = co_await run_flushed(c, lua::claim_entries, keys, stale);
    REQUIRE_FALSE(refused.error);
    CHECK(joined(texts(refused.v)) == "-1");
    const strings stranger{"g", "x", "0", "", "x", "4", ids[0], "1"};
    CHECK(joined(texts((co_await run(c, lua::claim_entries, keys, stranger)).v)) == "-1");
    CHECK(co_await owner(c, s, "g", ids[0]) == "a");
    CHECK(co_await deliveries(c, s, "g", ids[0]) == 1);
    // take_due_retries with the lease: ARGV group, consumer, limit, lease owner and epoch.
    const auto stale_take = co_await run_flushed(c, lua::take_due_retries, keys, "g", "b", "10",
                                                 "b", "3");
    REQUIRE_FALSE(stale_take.error);
    CHECK(joined(texts(stale_take.v)) == "-1");
    CHECK(co_await members(c, retry) == ids[2]);  // still waiting, still a's
    CHECK(co_await owner(c, s, "g", ids[2]) == "a");
    // The holder's calls go through as unfenced ones do.
    const strings held{"g", "b", "0", "", "b", "4", ids[0], "1", ids[1], "1"};
    const auto taken = co_await run(c, lua::claim_entries, keys, held);
    REQUIRE(taken.v.elements.size() == 2);
    CHECK(taken.v.elements[0].elements.size() == 6);  // ids[0] and ids[1]
    CHECK(co_await owner(c, s, "g", ids[0]) == "b");
    CHECK(co_await owner(c, s, "g", ids[1]) == "b");
    const auto due = co_await run(c, lua::take_due_retries, keys, "g", "b", "10", "b", "4");
    REQUIRE(due.v.elements.size() == 4);
    REQUIRE(due.v.elements[2].elements.size() == 3);
    CHECK(due.v.elements[2].elements[0].text == ids[2]);
    CHECK(co_await owner(c, s, "g", ids[2]) == "b");
    CHECK((co_await members(c, retry)).empty());
  });
}
