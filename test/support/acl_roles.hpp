#pragma once
// The least-privilege ACL rules of docs/security.md, for tenant "tenantA", as the arguments that
// follow `ACL SETUSER <user>`. docs/security.md quotes these strings verbatim (the test
// "docs/security.md quotes the ACL rules the tests use" in acl_roles_test.cpp checks it): change
// both together. "PASSWORD" is the placeholder the doc uses for each user's password.

#include <string>
#include <string_view>
#include <vector>

namespace streamq::test::acl_roles {

// publish, publish_batch, idempotent publish; schedule and cancel delayed tasks.
inline constexpr std::string_view producer =
    "reset on >PASSWORD resetchannels -@all +ping +client|setname +xadd +multi +exec +eval "
    "+evalsha +get +set +hincrby +type +xinfo|stream +zadd +hset +zrem +hdel +time "
    "~streamq:{tenantA.*}:stream "
    "~streamq:{tenantA.*}:dedup:* ~streamq:{tenantA.*}:task-dedup:* ~streamq:{tenantA.*}:meta "
    "~streamq:{tenantA.*}:delayed ~streamq:{tenantA.*}:delayed:data";

// consumer::run() with retries, dead letters, claims, idle-consumer removal, once-only handling,
// the eviction-policy check (INFO) and inspect().
inline constexpr std::string_view consumer =
    "reset on >PASSWORD resetchannels -@all +ping +client|setname +info +xgroup|create "
    "+xreadgroup +xack +xadd +xrange +xpending +xclaim +xinfo|groups +xinfo|consumers "
    "+xgroup|delconsumer +xlen +eval +evalsha +time +zscore +zadd +zrem +zrange +zrangebyscore "
    "+zremrangebyscore ~streamq:{tenantA.*}:stream ~streamq:{tenantA.*}:done:* "
    "~streamq:{tenantA.*}:retry:* ~streamq:{tenantA.*}:dead:*";

// scheduler::run() (the delayed-task poller and recurring tasks) and the recurring-task calls.
inline constexpr std::string_view scheduler =
    "reset on >PASSWORD resetchannels -@all +ping +client|setname +eval +evalsha +time +xadd "
    "+zrangebyscore +zrange +zrem +hmget +hdel +hgetall +hget +hset +hexists "
    "~streamq:{tenantA.*}:stream ~streamq:{tenantA.*}:delayed ~streamq:{tenantA.*}:delayed:data "
    "~streamq:{tenantA.*}:cron";

// Everything on the tenant's keys: dead letters, trimming, inspection, all of the above.
inline constexpr std::string_view operator_role =
    "reset on >PASSWORD resetchannels -@all +@stream +@hash +@sortedset +@string +@transaction "
    "-@dangerous +ping +client|setname +info +eval +evalsha +time +exists +del +type +pttl "
    "~streamq:{tenantA.*}:*";

// {"ACL", "SETUSER", user, <rules with "tenantA" replaced by `tenant` and "PASSWORD" by
// `password`, split at spaces>}: the command the fixture's redis_server::command() sends.
inline std::vector<std::string> setuser_command(std::string_view user, std::string_view rules,
                                                std::string_view tenant,
                                                std::string_view password) {
  auto replace_all = [](std::string text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
    return text;
  };
  const std::string filled =
      replace_all(replace_all(std::string(rules), "tenantA", tenant), "PASSWORD", password);
  std::vector<std::string> args{"ACL", "SETUSER", std::string(user)};
  std::size_t start = 0;
  while (start < filled.size()) {
    auto end = filled.find(' ', start);
    if (end == std::string::npos) end = filled.size();
    if (end > start) args.push_back(filled.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

}  // namespace streamq::test::acl_roles
