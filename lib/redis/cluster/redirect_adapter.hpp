#pragma once
// The response adapter the cluster router hands to a connection in place of the caller's: it
// forwards every reply to the caller's adapter until the first cluster fault (a top-level
// MOVED, ASK, TRYAGAIN, CLUSTERDOWN or READONLY error), and holds that reply and all after it back.
// Once the request is done the router looks at outcome() and either resends (the caller's
// adapter is restarted by on_start() and never sees the held replies) or calls deliver(),
// which hands the held replies over in their order: the caller then sees the request's
// replies exactly as the server sent them.
//
// A request that meets no fault costs one branch per reply node and no allocation. Pure: no
// Asio; one object per request, used on one thread.

#include <streamq/resp/error.hpp>
#include <streamq/resp/response.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace streamq::redis::cluster {

// What the replies of one send of a request said about the cluster.
struct attempt_outcome {
  std::size_t replies = 0;  // top-level replies received (those of ASKING not counted)
  std::size_t faults = 0;   // of them, cluster faults (is_cluster_fault)
  resp::server_errc first_fault = resp::server_errc::generic;  // valid when faults > 0
  std::string_view first_fault_text;  // its message, valid until the next send
  // The last reply was EXECABORT (with is_single_transaction: nothing ran).
  bool last_reply_execabort = false;
};

// True for the server errors the router acts on instead of the caller: redirections,
// transient cluster states, and READONLY (a write reached a node that became a replica in a
// failover: the topology is stale).
[[nodiscard]] constexpr bool is_cluster_fault(resp::server_errc e) noexcept {
  return e == resp::server_errc::moved || e == resp::server_errc::ask ||
         e == resp::server_errc::tryagain || e == resp::server_errc::clusterdown ||
         e == resp::server_errc::readonly;
}

class redirect_adapter final : public resp::response_adapter {
 public:
  explicit redirect_adapter(resp::response_adapter& inner) noexcept : inner_(inner) {}

  // Before each send: the first `skip` replies answer commands the router put in front
  // (ASKING) and are not the caller's.
  void prepare(std::size_t skip) noexcept { skip_ = skip; }

  [[nodiscard]] std::size_t expected_replies() const noexcept override;
  void on_start() override;
  void on_node(std::size_t reply, const resp::node& n) override;

  [[nodiscard]] const attempt_outcome& outcome() const noexcept { return outcome_; }

  // Hands the held replies to the caller's adapter, in order.
  void deliver();

 private:
  struct held_node {
    std::size_t reply;
    resp::type data_type;
    std::size_t aggregate_size;
    std::size_t depth;
    std::size_t offset;  // of its value in held_text_
    std::size_t size;
  };

  resp::response_adapter& inner_;
  std::size_t skip_ = 0;
  bool holding_ = false;
  attempt_outcome outcome_;
  std::vector<held_node> held_;
  std::string held_text_;
};

}  // namespace streamq::redis::cluster
