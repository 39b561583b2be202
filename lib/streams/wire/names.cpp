#include <streamq/resp/request.hpp>
#include <streamq/streams/names.hpp>

#include <cstdio>
#include <stdexcept>

namespace streamq::streams {
namespace {

constexpr bool allowed(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

const char* kind_name(name_kind kind) noexcept {
  switch (kind) {
    case name_kind::topic:
      return "topic";
    case name_kind::group:
      return "group";
    case name_kind::consumer:
      return "consumer";
    case name_kind::key_prefix:
      return "key prefix";
  }
  return "unknown";
}

// Printable ASCII as is, anything else as \xNN, so messages stay one readable line.
void append_escaped(std::string& out, char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    out += c;
    return;
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "\\x%02x", byte);
  out += hex;
}

// "streamq topic name 'abc'" with long names shortened.
std::string describe(name_kind kind, std::string_view name) {
  constexpr std::size_t shown = 40;
  std::string out = "streamq ";
  out += kind_name(kind);
  out += kind == name_kind::key_prefix ? " '" : " name '";
  for (char c : name.substr(0, shown)) append_escaped(out, c);
  if (name.size() > shown) out += "...";
  out += '\'';
  return out;
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name_length) return false;
  for (char c : name)
    if (!allowed(c)) return false;
  return true;
}

std::optional<partition_name> parse_partition_topic(std::string_view name) noexcept {
  const auto hash = name.rfind('#');
  if (hash == std::string_view::npos) return std::nullopt;
  const std::string_view topic = name.substr(0, hash);
  const std::string_view digits = name.substr(hash + 1);
  // Decimal, no sign, no leading zero: one spelling per partition, so one set of keys.
  if (!is_valid_name(topic) || digits.empty() || digits.size() > 4 ||
      (digits.size() > 1 && digits.front() == '0'))
    return std::nullopt;
  std::uint32_t number = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (number >= max_partitions) return std::nullopt;
  return partition_name{topic, number};
}

bool is_valid_topic_name(std::string_view name) noexcept {
  return is_valid_name(name) || parse_partition_topic(name).has_value();
}

std::string partition_topic(std::string_view topic, std::uint32_t partition) {
  validate_name(name_kind::topic, topic);
  if (parse_partition_topic(topic))
    throw std::invalid_argument(describe(name_kind::topic, topic) +
                                ": names a partition already; partitions have none");
  if (partition >= max_partitions)
    throw std::invalid_argument("streamq partition " + std::to_string(partition) +
                                ": at most " + std::to_string(max_partitions) +
                                " partitions are allowed");
  std::string name(topic);
  name += '#';
  name += std::to_string(partition);
  return name;
}

void validate_name(name_kind kind, std::string_view name) {
  if (kind == name_kind::topic && parse_partition_topic(name)) return;
  if (name.empty()) throw std::invalid_argument(describe(kind, name) + ": must not be empty");
  if (name.size() > max_name_length)
    throw std::invalid_argument(describe(kind, name) + ": " + std::to_string(name.size()) +
                                " characters, at most " + std::to_string(max_name_length) +
                                " are allowed");
  for (char c : name) {
    if (allowed(c)) continue;
    std::string message = describe(kind, name) + ": character '";
    append_escaped(message, c);
    message += "' is not allowed (allowed: A-Z a-z 0-9 . _ -)";
    throw std::invalid_argument(message);
  }
}

bool is_valid_key_prefix(std::string_view prefix) noexcept {
  if (prefix.empty() || prefix.size() > max_key_prefix_length) return false;
  for (char c : prefix)
    if (!allowed(c) && c != ':') return false;
  return true;
}

std::string key_prefix_problem(std::string_view prefix) {
  if (prefix.empty()) return "must not be empty";
  if (prefix.size() > max_key_prefix_length)
    return std::to_string(prefix.size()) + " characters, at most " +
           std::to_string(max_key_prefix_length) + " are allowed";
  for (char c : prefix) {
    if (allowed(c) || c == ':') continue;
    std::string message = "character '";
    append_escaped(message, c);
    message += "' is not allowed (allowed: A-Z a-z 0-9 . _ - :)";
    return message;
  }
  return {};
}

void validate_key_prefix(std::string_view prefix) {
  if (auto why = key_prefix_problem(prefix); !why.empty())
    throw std::invalid_argument(describe(name_kind::key_prefix, prefix) + ": " + why);
}

topic_keys::topic_keys(std::string_view topic, std::string_view key_prefix)
    : topic_(topic), key_prefix_(key_prefix) {
  validate_name(name_kind::topic, topic);
  validate_key_prefix(key_prefix);
  const std::string base = key_prefix_ + ":{" + topic_ + "}:";
  stream_ = base + "stream";
  delayed_ = base + "delayed";
  delayed_data_ = base + "delayed:data";
  dedup_prefix_ = base + "dedup:";
  task_dedup_prefix_ = base + "task-dedup:";
  cron_ = base + "cron";
  meta_ = base + "meta";
  partitions_ = base + "partitions";
  dead_prefix_ = base + "dead:";
  done_prefix_ = base + "done:";
  retry_prefix_ = base + "retry:";
}

std::string topic_keys::retries(std::string_view group) const {
  validate_name(name_kind::group, group);
  std::string key = retry_prefix_;
  key += group;
  return key;
}

std::string topic_keys::processed(std::string_view group) const {
  validate_name(name_kind::group, group);
  std::string key = done_prefix_;
  key += group;
  return key;
}

std::string topic_keys::outbox(std::string_view group) const {
  validate_name(name_kind::group, group);
  std::string key = key_prefix_ + ":{" + topic_ + "}:outbox:";
  key += group;
  return key;
}

std::string topic_keys::lease(std::string_view group) const {
  validate_name(name_kind::group, group);
  std::string key = key_prefix_ + ":{" + topic_ + "}:lease:";
  key += group;
  return key;
}

std::string topic_keys::members(std::string_view group) const {
  validate_name(name_kind::group, group);
  std::string key = key_prefix_ + ":{" + topic_ + "}:members:";
  key += group;
  return key;
}

std::string topic_keys::dead_letters(std::string_view group) const {
  validate_name(name_kind::group, group);
  std::string key = dead_prefix_;
  key += group;
  return key;
}

std::string topic_keys::dedup(std::string_view idempotency_key) const {
  std::string key = dedup_prefix_;
  key += idempotency_key;
  return key;
}

std::string topic_keys::task_dedup(std::string_view idempotency_key) const {
  std::string key = task_dedup_prefix_;
  key += idempotency_key;
  return key;
}

std::vector<std::string> topic_keys::all_keys(std::span<const std::string> groups) const {
  std::vector<std::string> keys{stream_, delayed_, delayed_data_, cron_, meta_, partitions_};
  for (const auto& group : groups) {
    keys.push_back(dead_letters(group));
    keys.push_back(processed(group));
    keys.push_back(outbox(group));
    keys.push_back(retries(group));
  }
  return keys;
}

std::uint16_t topic_keys::slot() const noexcept {
  return resp::hash_slot(stream_);
}

}  // namespace streamq::streams
