// inspect_partitions: a partitioned topic's members and leases in one group, as
// partitioned_consumer keeps them (commands/lease_requests.hpp).
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>

#include <streamq/streams/error.hpp>

#include "commands/growth_requests.hpp"
#include "commands/lease_requests.hpp"
#include "commands/send_command.hpp"

#include <boost/system/system_error.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace streamq::streams {
namespace asio = boost::asio;
namespace {

asio::awaitable<partitions_view> inspect_of(client& c, topic_keys keys, std::string group) {
  partitions_view view;
  detail::partition_state state;
  const auto read = co_await detail::send_command(
      c, [&](resp::request& req) { detail::build_partition_state(req, keys); },
      [&](const resp::value& reply) { return detail::decode_partition_state(reply, state); });
  if (!read)
    throw boost::system::system_error(read.ec(), "inspect_partitions of '" + keys.topic() + "'");
  view.partitions = state.count;
  view.growing = state.growing;
  if (view.partitions == 0) co_return view;
  std::vector<std::string> lease_keys;
  for (std::uint32_t p = 0; p < view.partitions; ++p)
    lease_keys.push_back(
        topic_keys(partition_topic(keys.topic(), p), keys.key_prefix()).lease(group));
  const std::string members_key = keys.members(group);
  std::vector<detail::member_entry> members;
  std::vector<detail::lease_state> leases(view.partitions);
  const auto sent = co_await detail::send_commands(
      c,
      [&](resp::request& req) {
        detail::build_members_read(req, members_key);
        for (const auto& k : lease_keys) detail::build_lease_read(req, k);
      },
      [&](std::span<const resp::value> replies) -> detail::command_result {
        if (replies.size() != lease_keys.size() + 1)
          return {errc::malformed_entry, "inspect_partitions: reply count"};
        if (auto r = detail::decode_members_read(replies[0], members); !r) return r;
        for (std::size_t p = 0; p < lease_keys.size(); ++p)
          if (auto r = detail::decode_lease_read(replies[p + 1], leases[p]); !r) return r;
        return {};
      });
  if (!sent)
    throw boost::system::system_error(sent.ec(), "inspect_partitions of '" + keys.topic() + "'");
  for (auto& m : members) view.members.push_back({std::move(m.name), m.expires_ms});
  for (std::uint32_t p = 0; p < view.partitions; ++p) {
    auto& l = leases[p];
    const std::int64_t until = l.owner.empty() ? 0 : l.until_ms;  // before the owner moves
    view.leases.push_back({p, std::move(l.owner), l.epoch, until});
  }
  co_return view;
}

}  // namespace

asio::awaitable<partitions_view> inspect_partitions(client& c, std::string_view topic,
                                                    std::string_view group,
                                                    std::string_view key_prefix) {
  validate_name(name_kind::group, group);
  validate_name(name_kind::topic, topic);
  if (!is_valid_name(topic))
    throw std::invalid_argument("streamq inspect_partitions: '" + std::string(topic) +
                                "' names a partition, not a partitioned topic");
  return inspect_of(c, topic_keys(topic, key_prefix), std::string(group));
}

asio::awaitable<partitions_view> inspect_partitions(client& c, std::string_view topic,
                                                    std::string_view group) {
  return inspect_partitions(c, topic, group, default_key_prefix);
}

}  // namespace streamq::streams
