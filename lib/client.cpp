#include <streamq/client.hpp>

namespace streamq {

client::client(executor_type ex, redis::connection_config config)
    : shared_(std::move(ex), [&] {
        config.allow_blocking_commands = false;
        return std::move(config);
      }()) {}

client::client(executor_type ex, std::string_view url)
    : client(std::move(ex), redis::parse_url(url)) {}

std::unique_ptr<redis::connection> client::make_dedicated_connection(
    std::string_view client_name_suffix) const {
  redis::connection_config config = shared_.config();
  config.allow_blocking_commands = true;
  config.health_check_interval = std::chrono::milliseconds(0);
  if (!config.client_name.empty() && !client_name_suffix.empty())
    config.client_name += "-" + std::string(client_name_suffix);
  return std::make_unique<redis::connection>(shared_.get_executor(), std::move(config));
}

}  // namespace streamq
