#include "handshake_reply.hpp"

#include <charconv>

namespace streamq::redis {

bool server_info::at_least(unsigned maj, unsigned min, unsigned pat) const noexcept {
  if (!known()) return false;
  if (major != maj) return major > maj;
  if (minor != min) return minor > min;
  return patch >= pat;
}

bool parse_version(std::string_view text, unsigned& major, unsigned& minor,
                   unsigned& patch) noexcept {
  major = minor = patch = 0;
  unsigned parts[3] = {0, 0, 0};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  int read = 0;
  for (; read < 3 && p < end; ++read) {
    const auto [next, ec] = std::from_chars(p, end, parts[read]);
    if (ec != std::errc()) break;
    p = next;
    if (p == end || *p != '.') {
      ++read;
      break;
    }
    ++p;
  }
  if (read < 2) return false;
  major = parts[0];
  minor = parts[1];
  patch = parts[2];
  return true;
}

void handshake_reply::on_start() {
  errors_.on_start();
  server_ = {};
  fields_seen_ = 0;
  pending_ = field::other;
}

void handshake_reply::on_node(std::size_t reply, const resp::node& n) {
  errors_.on_node(reply, n);
  // The HELLO reply is a map at depth 0; its keys and values alternate at depth 1 (a value
  // may be an aggregate: its children, deeper, are skipped).
  if (reply != hello_ || n.depth != 1) return;
  const bool key = fields_seen_++ % 2 == 0;
  if (key) {
    pending_ = n.value == "server" ? field::server
               : n.value == "version" ? field::version
                                      : field::other;
    return;
  }
  if (pending_ == field::server) server_.name = std::string(n.value);
  if (pending_ == field::version) {
    server_.version = std::string(n.value);
    if (!parse_version(n.value, server_.major, server_.minor, server_.patch))
      server_.major = server_.minor = server_.patch = 0;
  }
  pending_ = field::other;
}

}  // namespace streamq::redis
