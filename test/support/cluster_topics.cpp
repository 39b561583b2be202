#include "support/cluster_topics.hpp"

#include <streamq/resp/request.hpp>
#include <streamq/streams/names.hpp>

#include <atomic>
#include <exception>
#include <map>
#include <thread>

namespace streamq::test {

std::size_t master_of(const redis_cluster& c, const std::string& topic) {
  return c.owner(resp::hash_slot(streams::topic_keys(topic).stream()));
}

std::vector<std::string> topic_per_master(const redis_cluster& c, const std::string& base) {
  std::map<std::size_t, std::string> by_master;
  const auto masters = c.masters();
  for (int n = 0; by_master.size() < masters.size(); ++n) {
    const std::string topic = base + "-" + std::to_string(n);
    by_master.try_emplace(master_of(c, topic), topic);
  }
  std::vector<std::string> out;
  for (const auto& [master, topic] : by_master) out.push_back(topic);
  return out;
}

std::string cluster_url(const redis_cluster& c) {
  return c.url(0) + "?cluster=on";
}

boost::asio::awaitable<void> during_fault(
    const std::function<void()>& fault,
    const std::function<boost::asio::awaitable<void>(const std::function<bool()>& still)>& work) {
  std::atomic<bool> done{false};
  std::exception_ptr failure;
  std::thread injector([&] {
    try {
      fault();
    } catch (...) {
      failure = std::current_exception();
    }
    done = true;
  });
  const std::function<bool()> still = [&] { return !done.load(); };
  try {
    co_await work(still);
  } catch (...) {
    injector.join();
    throw;
  }
  injector.join();  // `done` is set: the thread has ended or is ending
  if (failure) std::rethrow_exception(failure);
}

}  // namespace streamq::test
