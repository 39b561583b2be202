// Tests of lib/streams/wire/names.cpp: name validation and the Redis keys of a topic.

#include <streamq/resp/request.hpp>
#include <streamq/streams/names.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using streamq::streams::is_valid_name;
using streamq::streams::max_name_length;
using streamq::streams::name_kind;
using streamq::streams::topic_keys;
using streamq::streams::validate_name;

namespace {

// The message validate_name throws, or "" when it accepts the name.
std::string rejection(name_kind kind, std::string_view name) {
  try {
    validate_name(kind, name);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("names from the allowed character set are accepted") {
  for (std::string_view name :
       {"a", "orders", "Orders.v2", "billing_events", "shop-eu-west-1", "0", "...", "-", "_",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"}) {
    CAPTURE(name);
    CHECK(is_valid_name(name));
    CHECK(rejection(name_kind::topic, name).empty());
  }
  const std::string longest(max_name_length, 'x');
  CHECK(is_valid_name(longest));
  CHECK(rejection(name_kind::consumer, longest).empty());
}

TEST_CASE("every character outside [A-Za-z0-9._-] is rejected, and the message names it") {
  int rejected = 0;
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    const std::string name = std::string("ab") + c + "cd";
    CAPTURE(byte);
    CHECK(is_valid_name(name) == allowed);
    CHECK(rejection(name_kind::group, name).empty() == allowed);
    if (!allowed) ++rejected;
  }
  CHECK(rejected == 256 - 65);
}

TEST_CASE("rejection messages say what, which name and which character") {
  CHECK(rejection(name_kind::topic, "a b") ==
        "streamq topic name 'a b': character ' ' is not allowed (allowed: A-Z a-z 0-9 . _ -)");
  CHECK(rejection(name_kind::group, "g{1}").find("streamq group name 'g{1}': character '{'") == 0);
  CHECK(rejection(name_kind::consumer, "c*").find("streamq consumer name 'c*': character '*'") ==
        0);
  CHECK(rejection(name_kind::topic, "a:b").find("character ':' is not allowed") !=
        std::string::npos);
  CHECK(rejection(name_kind::topic, "a?").find("character '?'") != std::string::npos);
  CHECK(rejection(name_kind::topic, "a[b]").find("character '['") != std::string::npos);
  CHECK(rejection(name_kind::topic, "tab\there").find("character '\\x09'") != std::string::npos);
  // bytes that would garble a log line are escaped, in the name as well
  CHECK(rejection(name_kind::topic, std::string_view("n\0l", 3)) ==
        "streamq topic name 'n\\x00l': character '\\x00' is not allowed (allowed: A-Z a-z 0-9 "
        ". _ -)");
  CHECK(rejection(name_kind::topic, "caf\xc3\xa9").find("character '\\xc3'") != std::string::npos);
}

TEST_CASE("empty and over-long names are rejected") {
  CHECK_FALSE(is_valid_name(""));
  CHECK(rejection(name_kind::topic, "") == "streamq topic name '': must not be empty");
  const std::string too_long(max_name_length + 1, 'x');
  CHECK_FALSE(is_valid_name(too_long));
  const auto message = rejection(name_kind::group, too_long);
  CHECK(message.find("streamq group name 'xxxx") == 0);
  CHECK(message.find("...': 129 characters, at most 128 are allowed") != std::string::npos);
  CHECK(message.size() < 120);  // the name is shortened in the message
}

TEST_CASE("topic_keys spells every key of a topic with the {topic} hash tag") {
  const topic_keys keys("orders");
  CHECK(keys.topic() == "orders");
  CHECK(keys.stream() == "streamq:{orders}:stream");
  CHECK(keys.delayed() == "streamq:{orders}:delayed");
  CHECK(keys.delayed_data() == "streamq:{orders}:delayed:data");
  CHECK(keys.dedup_prefix() == "streamq:{orders}:dedup:");
  CHECK(keys.dedup("k-1") == "streamq:{orders}:dedup:k-1");
  CHECK(keys.cron() == "streamq:{orders}:cron");
  CHECK(keys.meta() == "streamq:{orders}:meta");
  CHECK(keys.partitions() == "streamq:{orders}:partitions");
  CHECK(keys.dead_letters("billing") == "streamq:{orders}:dead:billing");
  CHECK(keys.processed("billing") == "streamq:{orders}:done:billing");
  CHECK_THROWS_AS(keys.processed("bad group"), std::invalid_argument);
  CHECK(keys.retries("billing") == "streamq:{orders}:retry:billing");
  CHECK(keys.outbox("billing") == "streamq:{orders}:outbox:billing");
  CHECK_THROWS_AS(keys.outbox("bad group"), std::invalid_argument);
  CHECK_THROWS_AS(keys.retries("bad group"), std::invalid_argument);

  const std::vector<std::string> groups{"billing", "shipping"};
  const auto all = keys.all_keys(groups);
  CHECK(all.size() == 14);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == all.size());
  CHECK(keys.all_keys().size() == 6);
}

TEST_CASE("all keys of a topic map to one cluster slot: the slot of the topic name") {
  for (std::string_view topic : {"orders", "a", "Z", "payments.v2", "x-y_z.0", "123456789"}) {
    CAPTURE(topic);
    const topic_keys keys(topic);
    const auto expected = streamq::resp::hash_slot(topic);
    CHECK(keys.slot() == expected);
    const std::vector<std::string> groups{"g1", "billing", "a-very-long-group-name.v3"};
    for (const auto& key : keys.all_keys(groups)) {
      CAPTURE(key);
      CHECK(streamq::resp::hash_slot(key) == expected);
    }
    // whatever an idempotency key contains, the first {...} of the key stays the topic's
    for (std::string_view idempotency : {"plain", "{other}", "}{x}", "", "a:b{c}"}) {
      CAPTURE(idempotency);
      CHECK(streamq::resp::hash_slot(keys.dedup(idempotency)) == expected);
    }
  }
  // and topics do spread: not everything lands in one slot
  CHECK(topic_keys("orders").slot() != topic_keys("payments").slot());
}

TEST_CASE("topic_keys refuses invalid topic and group names") {
  CHECK_THROWS_WITH_AS(topic_keys("a}b"),
                       "streamq topic name 'a}b': character '}' is not allowed (allowed: A-Z "
                       "a-z 0-9 . _ -)",
                       std::invalid_argument);
  CHECK_THROWS_AS(topic_keys(""), std::invalid_argument);
  const topic_keys keys("orders");
  CHECK_THROWS_WITH_AS(keys.dead_letters("bad group"),
                       "streamq group name 'bad group': character ' ' is not allowed (allowed: "
                       "A-Z a-z 0-9 . _ -)",
                       std::invalid_argument);
  CHECK_THROWS_AS(keys.dead_letters(""), std::invalid_argument);
}

TEST_CASE("a key prefix replaces 'streamq' in every key, and the slot stays the topic's") {
  const topic_keys keys("orders", "shop:prod");
  CHECK(keys.key_prefix() == "shop:prod");
  CHECK(topic_keys("orders").key_prefix() == "streamq");
  CHECK(keys.stream() == "shop:prod:{orders}:stream");
  CHECK(keys.delayed_data() == "shop:prod:{orders}:delayed:data");
  CHECK(keys.dedup("k") == "shop:prod:{orders}:dedup:k");
  CHECK(keys.task_dedup("k") == "shop:prod:{orders}:task-dedup:k");
  CHECK(keys.dead_letters("g") == "shop:prod:{orders}:dead:g");
  const std::vector<std::string> groups{"g"};
  for (const auto& key : keys.all_keys(groups)) {
    CAPTURE(key);
    CHECK(key.starts_with("shop:prod:{orders}:"));
    CHECK(streamq::resp::hash_slot(key) == streamq::resp::hash_slot("orders"));
  }
  // Two deployments on one server share no key.
  const auto other = topic_keys("orders", "shop:test").all_keys(groups);
  for (const auto& key : keys.all_keys(groups))
    CHECK(std::find(other.begin(), other.end(), key) == other.end());
}

TEST_CASE("key prefixes are checked like names, with ':' allowed and braces refused") {
  using streamq::streams::is_valid_key_prefix;
  CHECK(is_valid_key_prefix("streamq"));
  CHECK(is_valid_key_prefix("a:b.c-d_e:0"));
  CHECK(is_valid_key_prefix(std::string(64, 'p')));
  CHECK_FALSE(is_valid_key_prefix(std::string(65, 'p')));
  CHECK_FALSE(is_valid_key_prefix(""));
  for (std::string_view bad : {"a{b", "a}b", "a b", "a*", "a\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_key_prefix(bad));
    CHECK_THROWS_AS(topic_keys("orders", bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH_AS(topic_keys("orders", "a{b"),
                       "streamq key prefix 'a{b': character '{' is not allowed (allowed: A-Z "
                       "a-z 0-9 . _ - :)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(topic_keys("orders", ""), "streamq key prefix '': must not be empty",
                       std::invalid_argument);
}

TEST_CASE("a partition's topic name: T#N, one spelling per partition, its own hash tag") {
  using streamq::streams::is_valid_topic_name;
  using streamq::streams::max_partitions;
  using streamq::streams::parse_partition_topic;
  using streamq::streams::partition_topic;
  CHECK(partition_topic("orders", 0) == "orders#0");
  CHECK(partition_topic("orders", 17) == "orders#17");
  CHECK(partition_topic("orders", max_partitions - 1) == "orders#1023");
  CHECK_THROWS_AS((void)partition_topic("orders", max_partitions), std::invalid_argument);
  CHECK_THROWS_AS((void)partition_topic("bad name", 1), std::invalid_argument);
  CHECK_THROWS_AS((void)partition_topic("orders#1", 1), std::invalid_argument);

  const auto parsed = parse_partition_topic("orders.v2#5");
  REQUIRE(parsed);
  CHECK(parsed->topic == "orders.v2");
  CHECK(parsed->partition == 5);
  for (std::string_view bad : {"orders", "orders#", "#1", "orders#01", "orders#-1", "orders#1x",
                               "orders#1024", "orders#99999", "or ders#1", "a#1#2", "orders#+1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_partition_topic(bad));
  }
  // Topics accept the form; groups and consumers do not.
  CHECK(is_valid_topic_name("orders#3"));
  CHECK(is_valid_topic_name("orders"));
  CHECK_FALSE(is_valid_topic_name("orders#03"));
  CHECK_FALSE(is_valid_name("orders#3"));
  CHECK(rejection(name_kind::topic, "orders#3").empty());
  CHECK_FALSE(rejection(name_kind::group, "g#3").empty());
  CHECK_FALSE(rejection(name_kind::topic, "orders#03").empty());

  // Each partition's keys share a slot of their own; the partitions hash is the topic's.
  const topic_keys part("orders#3");
  CHECK(part.stream() == "streamq:{orders#3}:stream");
  CHECK(part.slot() == streamq::resp::hash_slot("orders#3"));
  CHECK(topic_keys("orders#4").slot() != part.slot());
  // A partition's lease lives with its stream; the group's members with the topic.
  CHECK(part.lease("billing") == "streamq:{orders#3}:lease:billing");
  CHECK(streamq::resp::hash_slot(part.lease("billing")) == part.slot());
  CHECK(topic_keys("orders").members("billing") == "streamq:{orders}:members:billing");
  CHECK_THROWS_AS((void)part.lease("bad group"), std::invalid_argument);
}
