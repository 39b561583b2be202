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

read_decision after_read(const error_code& exec, const error_code& reply,
                         const error_code& session) noexcept {
  if (exec == redis::client_errc::timeout)
    return {read_next::read_again, {}, /*drop_session=*/true, /*recover_own=*/true};
  if (exec == redis::client_errc::outcome_unknown) {
    // The session ended after the read was written. When the parser refused what came, that
    // is a hostile or broken reply, not a lost connection: worth telling.
    return {read_next::read_again, is_parse_error(session) ? session : error_code(), false, true};
  }
  if (is_parse_error(exec)) return {read_next::read_again, exec, true, true};
  if (exec) return {read_next::read_again, {}, false, false};  // not written: it never ran
  if (!reply) return {};
  if (reply == resp::server_errc::nogroup || reply == resp::server_errc::unblocked)
    return {read_next::recreate_group, reply, false, false};
  // The reply parsed as RESP but is no XREADGROUP reply: the entries it carried were
  // delivered to this consumer all the same, and where the next reply starts is in doubt.
  if (reply == errc::malformed_entry) return {read_next::read_again, reply, true, true};
  return {read_next::stop, reply, false, false};
}

}  // namespace streamq::streams::detail
