// Each Lua script of lib/streams/scripts/ on its own, against a real redis-server: keys and
// arguments in, reply and Redis state out, refusals and edge cases included. Every case makes
// its first call right after SCRIPT FLUSH, so it goes EVALSHA -> NOSCRIPT -> EVAL (exec_script)
// and must leave the script loaded under the SHA-1 computed at build time.
#include "lua_script_calls.hpp"

#include <array>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace streamq::test::lua_calls;
using namespace std::chrono_literals;

TEST_CASE("lua scripts: each file's build-time SHA-1 is the one SCRIPT LOAD answers") {
  const std::array all{
      &lua::ack_processed,         &lua::cancel_scheduled,    &lua::claim_entries,
      &lua::commit_outputs,        &lua::ack_fenced,
      &lua::dead_letter,           &lua::dedup_publish,       &lua::fire_recurring,
      &lua::list_scheduled,        &lua::poll_scheduled,      &lua::publish_batch,
      &lua::recurring_flag,        &lua::refresh_claims,      &lua::remove_idle_consumers,
      &lua::republish_dead_letter, &lua::requeue_dead_letter, &lua::schedule,
      &lua::schedule_retry,        &lua::take_due_retries,    &lua::trim_stream,
      &lua::upsert_recurring};
  with_server([&](client& c) -> asio::awaitable<void> {
    for (const auto* s : all) {
      INFO(s->name);
      CHECK(co_await text(c, "SCRIPT", "LOAD", std::string(s->text)) == s->sha1);
      CHECK(lua_script(*s).sha1() == streamq::streams::detail::sha1_hex(s->text));
    }
  });
}

TEST_CASE("lua scripts: a call with another key count than the file name's is refused") {
  request req;
  CHECK_THROWS_AS(lua_script(lua::cancel_scheduled).push(req, false, 1, key{"a"}, "id"),
                  std::logic_error);
  CHECK_THROWS_AS(lua_script(lua::publish_batch).push(req, true, 1, key{"a"}, "0"),
                  std::logic_error);
  CHECK_NOTHROW(lua_script(lua::publish_batch).push(req, true, 3, key{"a"}, key{"b"}, key{"c"}));
  CHECK_NOTHROW(lua_script(lua::cancel_scheduled).push(req, false, 2, key{"a"}, key{"b"}, "id"));
}

TEST_CASE("lua scripts: dedup_publish adds once per key and takes over a wave-1 task ID") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:s", "{t}:d:k", "{t}:meta"};
    const strings args{"60000", "v", "1", "e", "payload"};
    const auto first = co_await run_flushed(c, lua::dedup_publish, keys, args);
    REQUIRE_FALSE(first.error);
    CHECK(first.at(0) == "1");
    const std::string id = first.at(1);
    CHECK(co_await text(c, "GET", "{t}:d:k") == id);
    const auto ttl = co_await number(c, "PTTL", "{t}:d:k");
    CHECK(ttl > 0);
    CHECK(ttl <= 60000);
    const auto again = co_await run(c, lua::dedup_publish, keys, args);
    CHECK(again.at(0) == "0");
    CHECK(again.at(1) == id);
    CHECK(co_await number(c, "XLEN", "{t}:s") == 1);
    CHECK(co_await number(c, "HGET", "{t}:meta", "duplicates_suppressed") == 1);
    const auto entry = co_await cmd(c, "XRANGE", "{t}:s", "-", "+");
    REQUIRE(entry.elements.size() == 1);
    CHECK(entry.elements[0].elements.at(1).elements.at(3).text == "payload");
    // A value without '-' is a task ID a wave-1 scheduler left: no publish, so no duplicate.
    co_await cmd(c, "SET", "{t}:d:w", "0000000000000001");
    const strings wave1_keys{"{t}:s", "{t}:d:w", "{t}:meta"};
    const auto taken = co_await run(c, lua::dedup_publish, wave1_keys, args);
    CHECK(taken.at(0) == "1");
    CHECK(co_await text(c, "GET", "{t}:d:w") == taken.at(1));
    CHECK(co_await number(c, "XLEN", "{t}:s") == 2);
    CHECK(co_await number(c, "HGET", "{t}:meta", "duplicates_suppressed") == 1);
  });
}

TEST_CASE("lua scripts: schedule stores a task at or in, numbered in order, once per key") {
  with_server([](client& c) -> asio::awaitable<void> {
    const std::string delayed = "{t}:delayed", data = "{t}:data", meta = "{t}:meta";
    const strings no_key{delayed, data, meta, meta, meta};
    const auto at = co_await run_flushed(c, lua::schedule, no_key, "1000", "env-a", "0", "at");
    REQUIRE_FALSE(at.error);
    CHECK(at.at(0) == "1");
    CHECK(at.at(1) == "0000000000000001");
    CHECK(at.at(2) == "1000");
    CHECK(co_await text(c, "ZSCORE", delayed, at.at(1)) == "1000");
    CHECK(co_await text(c, "HGET", data, at.at(1)) == "env-a");
    const auto before = co_await server_ms(c);
    const auto in = co_await run(c, lua::schedule, no_key, "5000", "env-b", "0", "in");
    CHECK(in.at(1) == "0000000000000002");
    const auto now = std::stoll(in.at(3));
    CHECK(now >= before);
    CHECK(std::stoll(in.at(2)) == now + 5000);
    // With a key: the first task of it is kept, the next one suppressed.
    const strings keyed{delayed, data, meta, "{t}:task:k", "{t}:d:k"};
    const auto first = co_await run(c, lua::schedule, keyed, "2000", "env-c", "60000", "at");
    CHECK(first.at(0) == "1");
    CHECK(co_await text(c, "GET", "{t}:task:k") == first.at(1));
    const auto dup = co_await run(c, lua::schedule, keyed, "3000", "env-d", "60000", "at");
    CHECK(dup.at(0) == "0");
    CHECK(dup.at(1) == first.at(1));
    CHECK(dup.at(2) == "0");
    CHECK(co_await number(c, "ZCARD", delayed) == 3);
    CHECK(co_await number(c, "HGET", meta, "duplicates_suppressed") == 1);
    // Wave 1 kept task keys in the publisher's namespace: a task ID there suppresses, an entry
    // ID (a publish) does not.
    co_await cmd(c, "SET", "{t}:d:old", "0000000000000077");
    const strings old_keys{delayed, data, meta, "{t}:task:old", "{t}:d:old"};
    const auto old = co_await run(c, lua::schedule, old_keys, "4000", "env-e", "60000", "at");
    CHECK(old.at(0) == "0");
    CHECK(old.at(1) == "0000000000000077");
    co_await cmd(c, "SET", "{t}:d:pub", "1-0");
    const strings pub_keys{delayed, data, meta, "{t}:task:pub", "{t}:d:pub"};
    const auto pub = co_await run(c, lua::schedule, pub_keys, "4000", "env-f", "60000", "at");
    CHECK(pub.at(0) == "1");
    CHECK(co_await number(c, "ZCARD", delayed) == 4);
  });
}

TEST_CASE("lua scripts: poll_scheduled moves due tasks in order, a batch at a time") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:s", "{t}:delayed", "{t}:data"};
    const strings args_one{"1", "v", "1", "e"};
    const auto empty = co_await run_flushed(c, lua::poll_scheduled, keys, args_one);
    REQUIRE_FALSE(empty.error);
    CHECK(empty.at(0) == "0");
    CHECK(empty.at(1) == "-1");
    const auto later = std::to_string(co_await server_ms(c) + 3'600'000);
    co_await cmd(c, "ZADD", "{t}:delayed", "1", "a", "2", "b", "3", "orphan", later, "c");
    co_await cmd(c, "HSET", "{t}:data", "a", "env-a", "b", "env-b", "c", "env-c");
    const auto one = co_await run(c, lua::poll_scheduled, keys, args_one);
    CHECK(one.at(0) == "1");
    CHECK(one.at(1) == "2");
    const auto rest = co_await run(c, lua::poll_scheduled, keys, "10", "v", "1", "e");
    CHECK(rest.at(0) == "1");  // b; "orphan" has no data: dropped, not moved
    CHECK(rest.at(1) == later);
    const auto stream = co_await cmd(c, "XRANGE", "{t}:s", "-", "+");
    REQUIRE(stream.elements.size() == 2);
    CHECK(stream.elements[0].elements.at(1).elements.at(3).text == "env-a");
    CHECK(stream.elements[1].elements.at(1).elements.at(3).text == "env-b");
    CHECK(co_await number(c, "ZCARD", "{t}:delayed") == 1);
    CHECK(co_await number(c, "HLEN", "{t}:data") == 1);
  });
}

TEST_CASE("lua scripts: cancel_scheduled removes a task once") {
  with_server([](client& c) -> asio::awaitable<void> {
    co_await cmd(c, "ZADD", "{t}:delayed", "5", "x", "6", "y");
    co_await cmd(c, "HSET", "{t}:data", "x", "env-x", "y", "env-y");
    const strings keys{"{t}:delayed", "{t}:data"};
    const auto removed = co_await run_flushed(c, lua::cancel_scheduled, keys, "x");
    REQUIRE_FALSE(removed.error);
    CHECK(removed.v.text == "1");
    CHECK((co_await run(c, lua::cancel_scheduled, keys, "x")).v.text == "0");
    CHECK(co_await number(c, "ZCARD", "{t}:delayed") == 1);
    CHECK(co_await number(c, "HEXISTS", "{t}:data", "x") == 0);
    CHECK(co_await text(c, "HGET", "{t}:data", "y") == "env-y");
  });
}

TEST_CASE("lua scripts: list_scheduled lists soonest first, up to the limit") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:delayed", "{t}:data"};
    const auto none = co_await run_flushed(c, lua::list_scheduled, keys, "5");
    REQUIRE_FALSE(none.error);
    CHECK(none.v.elements.empty());
    co_await cmd(c, "ZADD", "{t}:delayed", "20", "late", "10", "soon", "30", "bare");
    co_await cmd(c, "HSET", "{t}:data", "late", "env-l", "soon", "env-s");
    const auto one = co_await run(c, lua::list_scheduled, keys, "1");
    REQUIRE(one.v.elements.size() == 3);
    CHECK(one.at(0) == "soon");
    CHECK(one.at(1) == "10");
    CHECK(one.at(2) == "env-s");
    const auto all = co_await run(c, lua::list_scheduled, keys, "5");
    REQUIRE(all.v.elements.size() == 9);
    CHECK(all.at(3) == "late");
    CHECK(all.at(6) == "bare");
    CHECK(all.at(8).empty());  // no data: an empty envelope
  });
}

TEST_CASE("lua scripts: upsert_recurring restarts the history only when the spec changes") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:cron"};
    const auto before = co_await server_ms(c);
    const auto created =
        co_await run_flushed(c, lua::upsert_recurring, keys, "n", "every 1m", "tpl-1", "skip");
    REQUIRE_FALSE(created.error);
    CHECK(created.v.text == "1");
    const auto last = co_await number(c, "HGET", "{t}:cron", "n|last");
    CHECK(last >= before);
    CHECK(co_await text(c, "HGET", "{t}:cron", "n|spec") == "every 1m");
    co_await cmd(c, "HSET", "{t}:cron", "n|last", "42");
    const auto same =
        co_await run(c, lua::upsert_recurring, keys, "n", "every 1m", "tpl-2", "catch_up");
    CHECK(same.v.text == "0");
    CHECK(co_await text(c, "HGET", "{t}:cron", "n|env") == "tpl-2");
    CHECK(co_await text(c, "HGET", "{t}:cron", "n|policy") == "catch_up");
    CHECK(co_await number(c, "HGET", "{t}:cron", "n|last") == 42);
    const auto changed =
        co_await run(c, lua::upsert_recurring, keys, "n", "every 2m", "tpl-2", "catch_up");
    CHECK(changed.v.text == "1");
    CHECK(co_await number(c, "HGET", "{t}:cron", "n|last") >= before);
  });
}

TEST_CASE("lua scripts: recurring_flag pauses, resumes and removes existing tasks only") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:cron"};
    const auto missing = co_await run_flushed(c, lua::recurring_flag, keys, "n", "pause");
    REQUIRE_FALSE(missing.error);
    CHECK(missing.v.text == "0");
    CHECK(co_await number(c, "EXISTS", "{t}:cron") == 0);
    co_await cmd(c, "HSET", "{t}:cron", "n|spec", "s", "n|env", "e", "n|policy", "p", "n|last", "1",
                 "other|spec", "s2");
    CHECK((co_await run(c, lua::recurring_flag, keys, "n", "pause")).v.text == "1");
    CHECK(co_await text(c, "HGET", "{t}:cron", "n|paused") == "1");
    CHECK((co_await run(c, lua::recurring_flag, keys, "n", "resume")).v.text == "1");
    CHECK(co_await number(c, "HEXISTS", "{t}:cron", "n|paused") == 0);
    co_await cmd(c, "HSET", "{t}:cron", "n|paused", "1");
    CHECK((co_await run(c, lua::recurring_flag, keys, "n", "remove")).v.text == "1");
    CHECK(co_await number(c, "HLEN", "{t}:cron") == 1);  // only the other task's field
    CHECK((co_await run(c, lua::recurring_flag, keys, "n", "resume")).v.text == "0");
  });
}

TEST_CASE("lua scripts: fire_recurring claims each occurrence once, and publishes when firing") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:cron", "{t}:s"};
    co_await cmd(c, "HSET", "{t}:cron", "n|spec", "S", "n|env", "TPL", "n|last", "100");
    auto fire = [&](std::string spec, std::string at, std::string how) {
      return run(c, lua::fire_recurring, keys, "n", spec, at, how, "-SUFFIX", "v", "1", "e");
    };
    co_await cmd(c, "SCRIPT", "FLUSH");
    REQUIRE_FALSE(co_await loaded(c, lua::fire_recurring));
    const auto changed = co_await fire("T", "200", "fire");
    REQUIRE_FALSE(changed.error);
    CHECK(changed.v.text == "-2");
    CHECK(co_await loaded(c, lua::fire_recurring));
    CHECK((co_await fire("S", "100", "fire")).v.text == "0");
    CHECK((co_await fire("S", "200", "fire")).v.text == "1");
    CHECK(co_await number(c, "HGET", "{t}:cron", "n|last") == 200);
    CHECK((co_await fire("S", "200", "fire")).v.text == "0");
    CHECK((co_await fire("S", "300", "skip")).v.text == "2");
    CHECK(co_await number(c, "HGET", "{t}:cron", "n|last") == 300);
    const auto stream = co_await cmd(c, "XRANGE", "{t}:s", "-", "+");
    REQUIRE(stream.elements.size() == 1);
    CHECK(stream.elements[0].elements.at(1).elements.at(3).text == "TPL-SUFFIX");
    co_await cmd(c, "HSET", "{t}:cron", "n|paused", "1");
    CHECK((co_await fire("S", "400", "fire")).v.text == "-1");
    CHECK(co_await number(c, "HGET", "{t}:cron", "n|last") == 300);
  });
}

TEST_CASE("lua scripts: ack_processed records and acknowledges together, forgetting old records") {
  with_server([](client& c) -> asio::awaitable<void> {
    const auto id = co_await text(c, "XADD", "{t}:s", "*", "f", "v");
    co_await cmd(c, "XGROUP", "CREATE", "{t}:s", "g", "0");
    co_await cmd(c, "XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "{t}:s", ">");
    co_await cmd(c, "ZADD", "{t}:done", "1", "ancient");
    const strings keys{"{t}:done", "{t}:s"};
    const auto before = co_await server_ms(c);
    const auto acked = co_await run_flushed(c, lua::ack_processed, keys, "g", id, "msg-1", "60000");
    REQUIRE_FALSE(acked.error);
    CHECK(acked.v.text == "1");
    CHECK(co_await number(c, "ZSCORE", "{t}:done", "msg-1") >= before);
    CHECK(co_await number(c, "ZCARD", "{t}:done") == 1);  // "ancient" forgotten
    const auto pending = co_await cmd(c, "XPENDING", "{t}:s", "g");
    CHECK(pending.elements.at(0).text == "0");
    CHECK((co_await run(c, lua::ack_processed, keys, "g", id, "msg-1", "60000")).v.text == "0");
  });
}

TEST_CASE("lua scripts: publish_batch adds every entry or, refused, none") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:s", "{t}:meta", "{t}:d:a"};
    const strings args{"60000", "v", "1", "e", "1", "env-a", "0", "env-b"};
    const auto first = co_await run_flushed(c, lua::publish_batch, keys, args);
    REQUIRE_FALSE(first.error);
    REQUIRE(first.v.elements.size() == 4);
    CHECK(first.at(0) == "1");
    CHECK(first.at(2) == "1");
    CHECK(co_await text(c, "GET", "{t}:d:a") == first.at(1));
    const auto again = co_await run(c, lua::publish_batch, keys, args);
    CHECK(again.at(0) == "0");
    CHECK(again.at(1) == first.at(1));
    CHECK(again.at(2) == "1");
    CHECK(co_await number(c, "XLEN", "{t}:s") == 3);
    CHECK(co_await number(c, "HGET", "{t}:meta", "duplicates_suppressed") == 1);
    // A dedup key of the wrong type refuses the whole batch before its first write.
    co_await cmd(c, "RPUSH", "{t}:d:list", "x");
    const strings list_keys{"{t}:s", "{t}:meta", "{t}:d:list"};
    const auto refused = co_await run(c, lua::publish_batch, list_keys, "60000", "v", "1", "e", "0",
                                      "env-c", "1", "env-d");
    CHECK(refused.error);
    CHECK(refused.diagnostic.starts_with("WRONGTYPE"));
    co_await cmd(c, "SET", "{t}:meta2", "not a hash");
    const strings meta_keys{"{t}:s", "{t}:meta2"};
    const auto bad_meta =
        co_await run(c, lua::publish_batch, meta_keys, "60000", "v", "1", "e", "0", "x");
    CHECK(bad_meta.error);
    CHECK(co_await number(c, "XLEN", "{t}:s") == 3);
  });
}

TEST_CASE("lua scripts: trim_stream trims by length and age, sparing what groups still need") {
  with_server([](client& c) -> asio::awaitable<void> {
    const strings keys{"{t}:s"};
    const auto missing = co_await run_flushed(c, lua::trim_stream, keys, "1", "0", "1");
    REQUIRE_FALSE(missing.error);
    CHECK(missing.v.text == "0");
    co_await cmd(c, "XADD", "{t}:s", "1-1", "f", "old");
    co_await cmd(c, "XADD", "{t}:s", "2-1", "f", "old");
    strings fresh;
    for (int i = 0; i < 4; ++i) fresh.push_back(co_await text(c, "XADD", "{t}:s", "*", "f", "v"));
    // By age: the two entries of 1970 are older than an hour.
    CHECK((co_await run(c, lua::trim_stream, keys, "0", "3600000", "1")).v.text == "2");
    CHECK((co_await run(c, lua::trim_stream, keys, "0", "0", "1")).v.text == "0");
    // A group that read only the first fresh entry, without acknowledging it, holds it.
    co_await cmd(c, "XGROUP", "CREATE", "{t}:s", "g", "0");
    co_await cmd(c, "XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "{t}:s", ">");
    CHECK((co_await run(c, lua::trim_stream, keys, "1", "0", "0")).v.text == "0");
    CHECK(co_await number(c, "XLEN", "{t}:s") == 4);
    // Acknowledged, the group still has not read the second: only the first goes.
    co_await cmd(c, "XACK", "{t}:s", "g", fresh[0]);
    CHECK((co_await run(c, lua::trim_stream, keys, "1", "0", "0")).v.text == "1");
    // trim_unacknowledged "1": the length wins.
    CHECK((co_await run(c, lua::trim_stream, keys, "1", "0", "1")).v.text == "2");
    const auto left = co_await cmd(c, "XRANGE", "{t}:s", "-", "+");
    REQUIRE(left.elements.size() == 1);
    CHECK(left.elements[0].elements.at(0).text == fresh[3]);
  });
}

TEST_CASE("lua scripts: remove_idle_consumers removes idle consumers without pending entries") {
  with_server([](client& c) -> asio::awaitable<void> {
    co_await cmd(c, "XADD", "{t}:s", "*", "f", "v");
    co_await cmd(c, "XGROUP", "CREATE", "{t}:s", "g", "0");
    co_await cmd(c, "XREADGROUP", "GROUP", "g", "busy", "COUNT", "1", "STREAMS", "{t}:s", ">");
    co_await cmd(c, "XGROUP", "CREATECONSUMER", "{t}:s", "g", "idle");
    co_await cmd(c, "XGROUP", "CREATECONSUMER", "{t}:s", "g", "me");
    const strings keys{"{t}:s"};
    const auto young =
        co_await run_flushed(c, lua::remove_idle_consumers, keys, "g", "3600000", "me");
    REQUIRE_FALSE(young.error);
    CHECK(young.v.elements.empty());
    co_await streamq::test::sleep_for(20ms);
    const auto removed = co_await run(c, lua::remove_idle_consumers, keys, "g", "10", "me");
    REQUIRE(removed.v.elements.size() == 1);
    CHECK(removed.at(0) == "idle");
    CHECK((co_await cmd(c, "XINFO", "CONSUMERS", "{t}:s", "g")).elements.size() == 2);
    const auto no_group = co_await run(c, lua::remove_idle_consumers, keys, "nope", "10", "me");
    CHECK(no_group.error);
  });
}

TEST_CASE("lua scripts: refresh_claims refreshes only the entries the consumer still owns") {
  with_server([](client& c) -> asio::awaitable<void> {
    strings ids;
    for (int i = 0; i < 3; ++i) ids.push_back(co_await text(c, "XADD", "{t}:s", "*", "f", "v"));
    co_await cmd(c, "XGROUP", "CREATE", "{t}:s", "g", "0");
    co_await cmd(c, "XREADGROUP", "GROUP", "g", "a", "COUNT", "2", "STREAMS", "{t}:s", ">");
    co_await streamq::test::sleep_for(50ms);
    const strings keys{"{t}:s"};
    const auto kept =
        co_await run_flushed(c, lua::refresh_claims, keys, "g", "a", ids[0], ids[1], ids[2]);
    REQUIRE_FALSE(kept.error);
    REQUIRE(kept.v.elements.size() == 2);
    CHECK(kept.at(0) == ids[0]);
    CHECK(kept.at(1) == ids[1]);
    const auto rows = co_await cmd(c, "XPENDING", "{t}:s", "g", "-", "+", "10");
    REQUIRE(rows.elements.size() == 2);
    for (const auto& row : rows.elements) {
      CHECK(row.elements.at(1).text == "a");
      CHECK(std::stoll(row.elements.at(2).text) < 50);  // idle time reset
    }
    const auto other = co_await run(c, lua::refresh_claims, keys, "g", "b", ids[0]);
    CHECK(other.v.elements.empty());
    const auto owner = co_await cmd(c, "XPENDING", "{t}:s", "g", ids[0], ids[0], "1");
    CHECK(owner.elements.at(0).elements.at(1).text == "a");
  });
}

TEST_CASE("lua scripts: republish_dead_letter moves a dead letter back once") {
  with_server([](client& c) -> asio::awaitable<void> {
    const auto dead = co_await text(c, "XADD", "{t}:dead", "*", "letter", "x");
    const strings keys{"{t}:dead", "{t}:s"};
    const strings args{dead, "v", "1", "e", "env"};
    const auto moved = co_await run_flushed(c, lua::republish_dead_letter, keys, args);
    REQUIRE_FALSE(moved.error);
    CHECK_FALSE(moved.v.text.empty());
    const auto stream = co_await cmd(c, "XRANGE", "{t}:s", "-", "+");
    REQUIRE(stream.elements.size() == 1);
    CHECK(stream.elements[0].elements.at(0).text == moved.v.text);
    CHECK(stream.elements[0].elements.at(1).elements.at(3).text == "env");
    CHECK(co_await number(c, "XLEN", "{t}:dead") == 0);
    CHECK((co_await run(c, lua::republish_dead_letter, keys, args)).v.text.empty());
    CHECK(co_await number(c, "XLEN", "{t}:s") == 1);
  });
}

