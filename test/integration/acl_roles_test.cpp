// The least-privilege ACL users of docs/security.md (rules in support/acl_roles.hpp) against a
// real redis-server: every role does its work with nothing denied, and a tenant's users are
// refused the keys of another tenant.
#include "support/acl_roles.hpp"
#include "support/async_test.hpp"
#include "support/redis_server.hpp"

#include <streamq/client.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/maintenance.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/scheduler.hpp>

#include <doctest/doctest.h>
#include <test_messages.pb.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using streamq::client;
using streamq::resp::key;
using streamq::resp::request;
using streamq::resp::response;
using streamq::resp::server_errc;
using streamq::streams::consumer;
using streamq::streams::consumer_config;
using streamq::streams::envelope_options;
using streamq::streams::message_context;
using streamq::streams::publisher;
using streamq::streams::scheduler;
using streamq::streams::scheduler_config;
using streamq::streams::topic_keys;
using streamq::test::Order;
using streamq::test::redis_server;
using streamq::test::sleep_for;
using streamq::test::wait_until;
namespace roles = streamq::test::acl_roles;

namespace {

// Distinctive passwords (scripts/check-no-secrets looks for "Sq-NoLeak-" in test output).
const std::string admin_password = "Sq-NoLeak-admin-41d7";
std::string password_of(const std::string& user) {
  return "Sq-NoLeak-" + user + "-9e2";
}

struct role {
  const char* suffix;
  std::string_view rules;
};
const std::vector<role>& all_roles() {
  static const std::vector<role> r{{"producer", roles::producer},
                                   {"consumer", roles::consumer},
                                   {"scheduler", roles::scheduler},
                                   {"operator", roles::operator_role}};
  return r;
}

redis_server start_server() {
  redis_server::options opts;
  opts.requirepass = admin_password;  // the default user is the admin; command() uses it
  return redis_server(opts);
}

// Creates the four users of `tenant` exactly as docs/security.md says.
void create_users(const redis_server& server, const std::string& tenant) {
  for (const auto& r : all_roles()) {
    const std::string user = tenant + "-" + r.suffix;
    const auto reply =
        server.command(roles::setuser_command(user, r.rules, tenant, password_of(user)));
    REQUIRE_MESSAGE(reply == "+OK\r\n", user << ": " << reply);
  }
}

std::string url_of(const redis_server& server, const std::string& user) {
  return "redis://" + user + ":" + (user == "default" ? admin_password : password_of(user)) +
         "@127.0.0.1:" + std::to_string(server.port());
}

using clients = std::vector<std::unique_ptr<client>>;

// Runs `body` with a running client per URL (in that order); stops them all afterwards.
void run_with_clients(const std::vector<std::string>& urls,
                      const std::function<asio::awaitable<void>(clients&)>& body) {
  streamq::test::run_coroutine(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        clients cs;
        for (const auto& url : urls) cs.push_back(std::make_unique<client>(ex, url));
        auto running = std::make_shared<std::size_t>(cs.size());
        for (auto& c : cs) c->async_run([running](streamq::redis::error_code) { --*running; });
        std::exception_ptr failure;
        co_await streamq::test::capture_failure(body(cs), failure);
        for (auto& c : cs) c->cancel();
        // A raw pointer: GCC 12 may destroy a lambda temporary in a co_await twice.
        co_await wait_until([r = running.get()] { return *r == 0; });
        if (failure) std::rethrow_exception(failure);
      },
      std::chrono::seconds(60));
}

Order order(const std::string& id) {
  Order o;
  o.set_id(id);
  return o;
}

envelope_options keyed(const std::string& idempotency_key) {
  envelope_options options;
  options.idempotency_key = idempotency_key;
  return options;
}

// One entry of ACL LOG, as the admin sees it.
struct denial {
  std::string reason, object, username;
};

asio::awaitable<std::vector<denial>> acl_log(client& admin) {
  request req;
  req.push("ACL", "LOG");
  response<streamq::resp::value> log;
  co_await admin.async_exec(req, log);
  std::vector<denial> out;
  for (const auto& entry : log.get<0>().value().elements) {
    denial d;
    if (const auto* v = entry.find("reason")) d.reason = v->text;
    if (const auto* v = entry.find("object")) d.object = v->text;
    if (const auto* v = entry.find("username")) d.username = v->text;
    out.push_back(d);
  }
  co_return out;
}

// Every denial is a failure: least privilege means streamq never even tries what a role may
// not do (the eviction check asks INFO before it would try CONFIG GET).
bool expected_denial(const denial&) {
  return false;
}

// ---- what each role does -----------------------------------------------------------------

const streamq::v1::Envelope& once_message() {
  static const auto envelope = streamq::streams::make_envelope(order("once"), envelope_options());
  return envelope;
}

asio::awaitable<void> produce(client& c, const std::string& topic, const std::string& once_topic) {
  publisher pub(c);
  co_await pub.publish(topic, order("plain"));
  co_await pub.publish(topic, order("keyed"), keyed("key-1"));
  co_await pub.publish(topic, order("keyed"), keyed("key-1"));  // suppressed
  CHECK(pub.stats().duplicates == 1);
  std::vector<streamq::v1::Envelope> batch;
  batch.push_back(streamq::streams::make_envelope(order("batch-1"), envelope_options()));
  batch.push_back(streamq::streams::make_envelope(order("batch-2"), keyed("key-2")));
  const auto ids = co_await pub.publish_batch(topic, batch);
  CHECK(ids.size() == 2);
  co_await pub.publish(topic, order("retry-me"));
  co_await pub.publish(topic, order("poison"));
  // once-only handling: the second copy is published after the first was handled
  co_await pub.publish_envelope(once_topic, once_message());

  scheduler_config config;  // no topics: this process only schedules
  scheduler s(c, config);
  co_await s.publish_in(topic, order("delayed"), 300ms);
  co_await s.publish_in(topic, order("delayed-keyed"), 300ms, keyed("key-3"));
  const auto dropped = co_await s.publish_in(topic, order("cancelled"), std::chrono::hours(1));
  CHECK(co_await s.cancel_scheduled(topic, dropped));
}

// A consumer of the group takes the first two entries and dies without acknowledging them.
asio::awaitable<void> ghost_takes_two(client& c, const std::string& topic) {
  const auto stream = topic_keys(topic).stream();
  request req;
  req.push("XGROUP", "CREATE", key{stream}, "billing", "0", "MKSTREAM");
  req.push("XREADGROUP", "GROUP", "billing", "ghost", "COUNT", 2, "STREAMS", key{stream}, ">");
  response<std::string, streamq::resp::value> replies;
  co_await c.async_exec(req, replies);
  REQUIRE(replies.get<0>().has_value());
  REQUIRE(replies.get<1>().has_value());
}

consumer_config consumer_settings() {
  consumer_config config;
  config.group = "billing";
  config.name = "worker-1";
  config.claim_idle = 300ms;
  config.claim_interval = 100ms;
  config.remove_idle_consumers_after = 200ms;
  config.retry.base = 10ms;
  config.retry.cap = 20ms;
  return config;
}

// The messages of the main topic the handler must have completed exactly once.
const std::vector<std::string>& handled_once() {
  static const std::vector<std::string> ids{"plain",    "keyed",   "batch-1",      "batch-2",
                                            "retry-me", "delayed", "delayed-keyed"};
  return ids;
}

struct consumed {
  std::multiset<std::string> handled;
  std::size_t once_runs = 0;
  std::vector<streamq::streams::consumer_event> events;
};

void subscribe(consumer& cons, const std::string& topic, const std::string& once_topic,
               consumed& seen) {
  cons.subscribe<Order>(
      topic, [&seen](const Order& o, message_context& ctx) -> asio::awaitable<void> {
        if (o.id() == "poison")
          throw boost::system::system_error(streamq::streams::errc::permanent_failure, "poison");
        if (o.id() == "retry-me" && ctx.attempt == 0) throw std::runtime_error("first try fails");
        if (o.id() == "batch-1") co_await sleep_for(500ms);  // its claim is kept alive
        seen.handled.insert(o.id());
      });
  streamq::streams::subscription_options once;
  once.once = true;
  cons.subscribe<Order>(
      once_topic,
      [&seen](const Order&, message_context&) -> asio::awaitable<void> {
        ++seen.once_runs;
        co_return;
      },
      once);
}

asio::awaitable<void> operate(client& c, const std::string& topic) {
  streamq::streams::dead_letters dl(c, topic, "billing");
  const auto letters = co_await dl.list();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].letter.envelope().type() == "streamq.test.Order");
  CHECK((co_await dl.get(letters[0].id)).has_value());
  CHECK(co_await dl.count() == 1);
  co_await dl.requeue(letters[0].id);
  CHECK(co_await dl.count() == 0);
  CHECK_FALSE(co_await dl.purge("1-1"));
  CHECK(co_await dl.purge_all() == 0);
  streamq::streams::retention_policy policy;
  policy.max_length = 1;  // never past what the group still needs (the requeued letter)
  co_await streamq::streams::trim_topic(c, topic_keys(topic), policy);
  scheduler_config config;
  scheduler s(c, config);
  CHECK(co_await s.scheduled_count(topic) == 0);
  CHECK((co_await s.list_scheduled(topic, 10)).empty());
  CHECK((co_await s.list_recurring(topic)).size() == 1);
  CHECK(co_await s.pause_recurring(topic, "tick"));
  CHECK(co_await s.remove_recurring(topic, "tick"));
}

std::filesystem::path source_root() {
  // __FILE__ is absolute in this build (CMake passes absolute source paths).
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

}  // namespace

TEST_CASE("docs/security.md quotes the ACL rules the tests use") {
  const auto doc_path = source_root() / "docs" / "security.md";
  std::ifstream in(doc_path);
  REQUIRE_MESSAGE(in.good(), doc_path.string());
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& r : all_roles()) {
    const std::string line =
        "ACL SETUSER tenantA-" + std::string(r.suffix) + " " + std::string(r.rules);
    CHECK_MESSAGE(text.str().find(line) != std::string::npos, "docs/security.md lacks: " << line);
  }
}

TEST_CASE("each least-privilege role does its work with no ACL denial") {
  redis_server server = start_server();
  create_users(server, "tenantA");
  REQUIRE(server.command({"ACL", "LOG", "RESET"}) == "+OK\r\n");
  const std::string topic = "tenantA.orders";
  const std::string once_topic = "tenantA.payments";
  consumed seen;
  std::vector<denial> denials;
  run_with_clients(
      {url_of(server, "tenantA-producer"), url_of(server, "tenantA-consumer"),
       url_of(server, "tenantA-scheduler"), url_of(server, "tenantA-operator"),
       url_of(server, "default")},
      [&](clients& cs) -> asio::awaitable<void> {
        client& producer_client = *cs[0];
        client& consumer_client = *cs[1];
        client& scheduler_client = *cs[2];
        client& operator_client = *cs[3];
        client& admin = *cs[4];

        co_await produce(producer_client, topic, once_topic);
        co_await ghost_takes_two(consumer_client, topic);

        scheduler_config sconfig;
        sconfig.topics.push_back(topic);
        sconfig.max_sleep = 100ms;
        scheduler sched(scheduler_client, sconfig);
        const streamq::streams::schedule every(streamq::streams::interval_schedule(
            200ms, std::chrono::time_point_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now())));
        co_await sched.upsert_recurring(topic, "tick", every, order("tick"),
                                        streamq::streams::missed_policy::skip);

        auto config = consumer_settings();
        config.on_event = [&seen](const streamq::streams::consumer_event& e) {
          seen.events.push_back(e);
        };
        consumer cons(consumer_client, config);
        subscribe(cons, topic, once_topic, seen);

        auto scenario = [&]() -> asio::awaitable<void> {
          co_await wait_until([&] { return seen.once_runs == 1; });
          publisher again(producer_client);
          co_await again.publish_envelope(once_topic, once_message());
          co_await wait_until(
              [&] {
                const auto st = cons.stats();
                return seen.handled.count("delayed-keyed") == 1 &&
                       seen.handled.count("retry-me") == 1 && seen.handled.count("tick") >= 2 &&
                       seen.handled.count("plain") == 1 && seen.handled.count("keyed") == 1 &&
                       seen.handled.count("batch-1") == 1 && st.dead_lettered == 1 &&
                       st.skipped_processed == 1;
              },
              15s);
          const auto status = co_await cons.inspect();
          REQUIRE(status.size() == 2);
          CHECK(status[0].length > 0);
        };
        std::exception_ptr failure;
        co_await (cons.run() || sched.run() || streamq::test::capture_failure(scenario(), failure));
        if (failure) std::rethrow_exception(failure);

        const auto st = cons.stats();
        CHECK(st.claimed >= 2);  // the ghost's two entries
        CHECK(st.retried == 1);
        CHECK(st.claims_refreshed > 0);
        CHECK(seen.once_runs == 1);
        for (const auto& id : handled_once()) CHECK_MESSAGE(seen.handled.count(id) == 1, id);
        CHECK(seen.handled.count("poison") == 0);
        CHECK(seen.handled.count("cancelled") == 0);
        CHECK(sched.stats().moved == 2);
        CHECK(sched.stats().recurring_fired >= 2);

        co_await operate(operator_client, topic);
        denials = co_await acl_log(admin);
      });
  for (const auto& d : denials)
    CHECK_MESSAGE(expected_denial(d),
                  "ACL LOG: " << d.username << " denied " << d.reason << " " << d.object);
  // INFO is granted, so the policy was read and nothing was reported as unknown
  for (const auto& e : seen.events)
    CHECK(e.what != streamq::streams::consumer_event::kind::eviction_policy_unknown);
}

TEST_CASE("a tenant's producer and consumer are refused another tenant's keys") {
  redis_server server = start_server();
  create_users(server, "tenantA");
  create_users(server, "tenantB");
  REQUIRE(server.command({"ACL", "LOG", "RESET"}) == "+OK\r\n");
  const std::string topic_b = "tenantB.orders";
  std::vector<denial> denials;
  run_with_clients(
      {url_of(server, "tenantA-producer"), url_of(server, "tenantA-consumer"),
       url_of(server, "tenantB-consumer"), url_of(server, "default")},
      [&](clients& cs) -> asio::awaitable<void> {
        client& producer_a = *cs[0];
        client& consumer_a = *cs[1];
        client& consumer_b = *cs[2];
        client& admin = *cs[3];

        // tenant B's own consumer creates its group and can read its topic
        co_await ghost_takes_two(consumer_b, topic_b);

        publisher pub(producer_a);
        auto expect_noperm = [](asio::awaitable<std::string> op) -> asio::awaitable<void> {
          std::optional<boost::system::error_code> code;
          try {
            co_await std::move(op);
          } catch (const boost::system::system_error& e) {
            code = e.code();
          }
          REQUIRE(code.has_value());
          CHECK(*code == server_errc::noperm);
          CHECK_FALSE(streamq::redis::is_retryable(*code));
        };
        co_await expect_noperm(pub.publish(topic_b, order("intruder")));
        co_await expect_noperm(pub.publish(topic_b, order("intruder"), keyed("k")));
        scheduler_config sconfig;
        scheduler s(producer_a, sconfig);
        co_await expect_noperm(s.publish_in(topic_b, order("intruder"), 10ms));

        // tenant A's consumer cannot join (XGROUP CREATE) nor read tenant B's topic
        consumer cons(consumer_a, consumer_settings());
        cons.subscribe<Order>(topic_b, [](const Order&, message_context&) -> asio::awaitable<void> {
          FAIL("tenant A's consumer received a tenant B message");
          co_return;
        });
        std::optional<boost::system::error_code> run_error;
        try {
          co_await cons.run();
        } catch (const boost::system::system_error& e) {
          run_error = e.code();
        }
        REQUIRE(run_error.has_value());
        CHECK(*run_error == server_errc::noperm);

        request read;
        read.push("XREADGROUP", "GROUP", "billing", "spy", "COUNT", 10, "STREAMS",
                  key{topic_keys(topic_b).stream()}, "0");
        response<streamq::resp::value> reply;
        co_await consumer_a.async_exec(read, reply);
        CHECK(reply.get<0>().error() == server_errc::noperm);

        // nor with a raw command
        request raw;
        raw.push("XADD", key{topic_keys(topic_b).stream()}, "*", "v", "1", "e", "x");
        response<std::string> added;
        co_await producer_a.async_exec(raw, added);
        CHECK(added.get<0>().error() == server_errc::noperm);

        request length;
        length.push("XLEN", key{topic_keys(topic_b).stream()});
        response<std::int64_t> len;
        // nothing of tenant A's arrived there
        co_await consumer_b.async_exec(length, len);
        CHECK(len.get<0>().value() == 0);

        denials = co_await acl_log(admin);
      });
  // The refusals are on record: key denials by tenant A's users for tenant B's keys.
  std::set<std::string> denied_users;
  for (const auto& d : denials) {
    if (expected_denial(d)) continue;
    INFO("ACL LOG: ", d.username, " denied ", d.reason, " ", d.object);
    CHECK(d.reason == "key");
    CHECK(d.object.rfind("streamq:{tenantB.orders}:", 0) == 0);
    CHECK(d.username.rfind("tenantA-", 0) == 0);
    denied_users.insert(d.username);
  }
  CHECK(denied_users == std::set<std::string>{"tenantA-producer", "tenantA-consumer"});
}
