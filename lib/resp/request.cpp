#include <streamq/resp/request.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace streamq::resp {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

// Commands that hold the connection until data arrives or a timeout passes.
constexpr std::array<std::string_view, 10> blocking_commands{
    "BLPOP",    "BRPOP",    "BRPOPLPUSH", "BLMOVE", "BLMPOP",
    "BZPOPMIN", "BZPOPMAX", "BZMPOP",     "WAIT",   "WAITAOF"};

// Under RESP3 these are answered by push messages only, not by a reply.
constexpr std::array<std::string_view, 6> push_only_commands{
    "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"};

bool any_of(std::string_view name, const auto& list) noexcept {
  return std::any_of(list.begin(), list.end(),
                     [&](std::string_view c) { return iequals(c, name); });
}

void append_decimal(std::string& out, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

}  // namespace

void request::clear() noexcept {
  buffer_.clear();
  commands_ = 0;
  replies_ = 0;
  more_.clear();
  slot_.reset();
  cross_slot_ = false;
  command_cross_slot_ = false;
  transaction_ = false;
  blocking_ = false;
  scan_for_block_ = false;
  skip_args_ = 0;
}

void request::reserve_more(std::size_t bytes) {
  // Grows geometrically still, so pushing many commands one by one stays linear.
  const std::size_t wanted = buffer_.size() + bytes;
  if (wanted > buffer_.capacity()) buffer_.reserve(std::max(wanted, 2 * buffer_.capacity()));
}

void request::begin_command(std::string_view command, std::size_t argc) {
  const command_info info{buffer_.size(), std::nullopt, true};
  if (commands_ == 0)
    first_ = info;
  else
    more_.push_back(info);
  buffer_ += '*';
  append_decimal(buffer_, argc);
  buffer_ += "\r\n";
  write_bulk(command);
  skip_args_ = 0;
  ++commands_;
  // Cheap first-letter test keeps the name comparisons off the common path.
  const char c = command.empty()
                     ? '\0'
                     : static_cast<char>(std::toupper(static_cast<unsigned char>(command[0])));
  bool push_only = false;
  if (c == 'B' || c == 'W') blocking_ = blocking_ || any_of(command, blocking_commands);
  if (c == 'X') scan_for_block_ = iequals(command, "XREAD") || iequals(command, "XREADGROUP");
  if (c == 'S' || c == 'U' || c == 'P') push_only = any_of(command, push_only_commands);
  if (c == 'M') transaction_ = transaction_ || iequals(command, "MULTI");
  if (!push_only) ++replies_;
  current().replied = !push_only;
}

request::command_info request::command(std::size_t index) const noexcept {
  return index == 0 ? first_ : more_[index - 1];
}

void request::append_command(const request& other, std::size_t index) {
  const command_info info = other.command(index);
  const std::size_t end =
      index + 1 < other.commands_ ? other.command(index + 1).offset : other.buffer_.size();
  command_info copy = info;
  copy.offset = buffer_.size();
  if (commands_ == 0)
    first_ = copy;
  else
    more_.push_back(copy);
  ++commands_;
  if (info.replied) ++replies_;
  buffer_.append(other.buffer_, info.offset, end - info.offset);
  if (info.slot) {
    if (slot_ && *slot_ != *info.slot) cross_slot_ = true;
    if (!slot_) slot_ = info.slot;
  }
  // Flags known only for the whole of `other` carry over: conservative, and the router splits
  // only requests that have none of them.
  command_cross_slot_ = command_cross_slot_ || other.command_cross_slot_;
  transaction_ = transaction_ || other.transaction_;
  blocking_ = blocking_ || other.blocking_;
}

void request::append_bulk(std::string_view data) {
  if (scan_for_block_) {
    if (skip_args_ > 0) {
      --skip_args_;
    } else if (iequals(data, "BLOCK")) {
      blocking_ = true;
      scan_for_block_ = false;
    } else if (iequals(data, "STREAMS")) {
      scan_for_block_ = false;  // keys and IDs follow, never options
    } else if (iequals(data, "COUNT")) {
      skip_args_ = 1;
    } else if (iequals(data, "GROUP")) {
      skip_args_ = 2;
    }
  }
  write_bulk(data);
}

void request::write_bulk(std::string_view data) {
  buffer_ += '$';
  append_decimal(buffer_, data.size());
  buffer_ += "\r\n";
  buffer_.append(data);
  buffer_ += "\r\n";
}

void request::note_key(std::string_view name) noexcept {
  const std::uint16_t s = hash_slot(name);
  if (slot_ && *slot_ != s) cross_slot_ = true;
  if (!slot_) slot_ = s;
  auto& own = current().slot;
  if (own && *own != s) command_cross_slot_ = true;
  if (!own) own = s;
}

void request::end_command() noexcept {
  scan_for_block_ = false;
}

}  // namespace streamq::resp
