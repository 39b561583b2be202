#pragma once
// A pipeline whose commands live in different slots, run on a cluster: split_by_slot() cuts it
// into one request per slot (each routed, redirected and retried on its own by the router), a
// reply_recorder keeps each part's replies, and merge_replies() hands them to the caller's
// adapter in the order of the whole request, so the caller cannot tell it was split.
//
// Only pipelines of independent commands are split: a transaction (MULTI ... EXEC) must run on
// one node and a command whose own keys span slots cannot run anywhere; both are refused by
// the router with client_errc::cross_slot. The parts run concurrently, so commands of
// different slots are not ordered against each other; commands of one slot keep their order.
//
// Pure: no Asio, one object per request, used on one thread.

#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace streamq::redis::cluster {

// The commands of one slot, in their order, and where each of their replies belongs.
struct request_part {
  resp::request req;
  // Reply i of `req` is reply reply_index[i] of the whole request.
  std::vector<std::size_t> reply_index;
};

// True when the router splits `req` rather than sending it whole: its keys span slots, and
// it is neither a transaction, nor holds a command that spans slots itself, nor blocks.
[[nodiscard]] bool splittable(const resp::request& req) noexcept;

// One part per slot, in the order of each slot's first command. Commands without keys join
// the first part (any master can answer them).
[[nodiscard]] std::vector<request_part> split_by_slot(const resp::request& req);

// Keeps every node of a part's replies (on_start forgets them: a resent part starts over).
class reply_recorder final : public resp::response_adapter {
 public:
  void on_start() override;
  void on_node(std::size_t reply, const resp::node& n) override;

  // Replies recorded so far.
  [[nodiscard]] std::size_t replies() const noexcept { return reply_start_.size(); }
  // Hands reply `reply` (as numbered in this part) to `to` as reply `as`.
  void replay(std::size_t reply, std::size_t as, resp::response_adapter& to) const;

 private:
  struct recorded_node {
    resp::type data_type;
    std::size_t aggregate_size;
    std::size_t depth;
    std::size_t offset;  // of its value in text_
    std::size_t size;
  };
  std::vector<recorded_node> nodes_;
  std::vector<std::size_t> reply_start_;  // index in nodes_ of each reply's first node
  std::string text_;
};

// Feeds `to` every reply of every part in the order of the whole request (after on_start()).
// `recorded[i]` holds the replies of `parts[i]`; a reply a part did not record is skipped.
void merge_replies(std::span<const request_part> parts, std::span<const reply_recorder> recorded,
                   resp::response_adapter& to);

}  // namespace streamq::redis::cluster
