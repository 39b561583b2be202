#include "sansio/reading.hpp"

#include <streamq/redis/error.hpp>
#include <streamq/resp/error.hpp>

#include <system_error>

namespace streamq::streams::detail {

bool is_parse_error(const error_code& ec) noexcept {
  // A std::error_code carried in a boost one keeps its category only when converted back.
  const std::error_code std_ec = ec;
  return ec && std_ec.category() == resp::parse_category();
}

std::vector<std::vector<std::size_t>> group_topics(std::span<const std::string> place_of_topic) {
  std::vector<std::vector<std::size_t>> groups;
  std::vector<const std::string*> places;  // parallel to groups
  for (std::size_t t = 0; t < place_of_topic.size(); ++t) {
    std::size_t g = 0;
    while (g < places.size() && *places[g] != place_of_topic[t]) ++g;
    if (g == places.size()) {
      places.push_back(&place_of_topic[t]);
      groups.emplace_back();
    }
    groups[g].push_back(t);
  }
  return groups;
}

read_decision after_read(const error_code& exec, const error_code& reply,
                         const error_code& session, bool clustered) noexcept {
  // After a transport failure in a cluster, the node may be gone for good (failed over, or
  // removed): the next read goes wherever the topology then says.
  const auto again = clustered ? read_next::reroute : read_next::read_again;
  if (exec == redis::client_errc::timeout)
    return {again, {}, /*drop_session=*/true, /*recover_own=*/true};
  if (exec == redis::client_errc::outcome_unknown) {
    // The session ended after the read was written. When the parser refused what came, that
    // is a hostile or broken reply, not a lost connection: worth telling.
    return {is_parse_error(session) ? read_next::read_again : again,
            is_parse_error(session) ? session : error_code(), false, true};
  }
  if (is_parse_error(exec)) return {read_next::read_again, exec, true, true};
  if (exec) return {again, {}, false, false};  // not written: it never ran
  if (!reply) return {};
  // A cluster fault refuses the whole read before it runs: nothing was delivered.
  if (reply == resp::server_errc::moved || reply == resp::server_errc::ask ||
      reply == resp::server_errc::readonly || reply == resp::server_errc::tryagain ||
      reply == resp::server_errc::clusterdown)
    return {read_next::reroute, {}, false, false};
  // In a cluster, MIGRATE deletes a moved stream from its old master, which releases the
  // read there with UNBLOCKED: not a loss until the stream's new master says NOGROUP too.
  if (clustered && reply == resp::server_errc::unblocked) return {read_next::reroute, {}, false, false};
  if (reply == resp::server_errc::nogroup || reply == resp::server_errc::unblocked)
    return {read_next::recreate_group, reply, false, false};
  // The reply parsed as RESP but is no XREADGROUP reply: the entries it carried were
  // delivered to this consumer all the same, and where the next reply starts is in doubt.
  if (reply == errc::malformed_entry) return {read_next::read_again, reply, true, true};
  // A refusal that passes (LOADING after a restart, BUSY script, MASTERDOWN or NOREPLICAS on a
  // master waiting for its replicas): told, and read again after the pause; nothing ran.
  const std::error_code std_reply = reply;
  if (std_reply.category() == resp::server_category() &&
      resp::is_transient(static_cast<resp::server_errc>(std_reply.value())))
    return {read_next::read_again, reply, false, false};
  return {read_next::stop, reply, false, false};
}

bool may_have_met_closed_gate(const error_code& exec, const error_code& reply) noexcept {
  return !exec &&
         (reply == resp::server_errc::nogroup || reply == resp::server_errc::unblocked);
}

}  // namespace streamq::streams::detail
