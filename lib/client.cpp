#include <streamq/client.hpp>

#include "redis/cluster/router.hpp"

namespace streamq {

client::client(executor_type ex, redis::connection_config config) {
  config.allow_blocking_commands = false;
  shared_ = std::make_shared<redis::connection>(std::move(ex), config);
  if (config.cluster.mode != redis::cluster_mode::off)
    router_ = std::make_shared<redis::cluster::router>(shared_, std::move(config));
}

client::client(executor_type ex, std::string_view url)
    : client(std::move(ex), redis::parse_url(url)) {}

client::~client() {
  if (router_ != nullptr) router_->stop();
}

bool client::routed_direct() const noexcept {
  return router_->direct();
}

void client::initiate_routed_run(exec_handler handler) {
  router_->start_run(std::move(handler));
}

void client::initiate_routed_exec(exec_handler handler, const resp::request& req,
                                  resp::response_adapter& adapter, bool same_executor) {
  router_->start_exec(std::move(handler), req, adapter, same_executor);
}

void client::initiate_refresh(exec_handler handler) {
  router_->start_refresh(std::move(handler));
}

std::string client::node_for_slot(std::uint16_t slot) const {
  return router_ == nullptr ? std::string() : router_->master_of(slot);
}

std::vector<master_connection> client::master_connections() const {
  return router_ == nullptr ? std::vector<master_connection>() : router_->masters();
}

void client::cancel() {
  if (router_ != nullptr)
    router_->stop();
  else
    shared_->cancel();
}

redis::connection_config client::dedicated_config(std::string_view suffix) const {
  redis::connection_config config = shared_->config();
  config.allow_blocking_commands = true;
  config.health_check_interval = std::chrono::milliseconds(0);
  if (!config.client_name.empty() && !suffix.empty())
    config.client_name += "-" + std::string(suffix);
  return config;
}

std::unique_ptr<redis::connection> client::make_dedicated_connection(
    std::string_view client_name_suffix) const {
  return std::make_unique<redis::connection>(shared_->get_executor(),
                                             dedicated_config(client_name_suffix));
}

std::unique_ptr<redis::connection> client::make_dedicated_connection_for_slot(
    std::uint16_t slot, std::string_view client_name_suffix) const {
  if (router_ == nullptr) return make_dedicated_connection(client_name_suffix);
  return router_->make_dedicated(slot, dedicated_config(client_name_suffix));
}

}  // namespace streamq
