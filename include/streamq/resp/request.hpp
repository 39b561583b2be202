#pragma once
// Serializes commands into one reusable buffer: arguments are appended in place, never
// allocated one by one. A request also records what the connection must know about its
// commands: how many replies come back, whether one blocks the connection, and the hash
// slot of its keys (for cluster routing).

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace streamq::resp {

// CRC16 hash slot of a key (0..16383), honouring {hash tags}.
[[nodiscard]] std::uint16_t hash_slot(std::string_view key) noexcept;

// Marks an argument as a key, so the request knows its slot.
struct key {
  std::string_view name;
};

class request {
 public:
  // Appends one command; arguments may be strings, integers, floating point numbers, key{},
  // or ranges of strings (expanded in place).
  template <class... Args>
  void push(std::string_view command, const Args&... args) {
    const std::size_t count = 1 + (arg_count(args) + ... + 0);
    // One allocation for the whole command rather than one per doubling of the buffer.
    reserve_more(command.size() + (bytes_hint(args) + ... + 0) + bulk_overhead * count + 16);
    begin_command(command, count);
    (append(args), ...);
    end_command();
  }

  // The serialized commands.
  [[nodiscard]] std::string_view payload() const noexcept { return buffer_; }
  [[nodiscard]] std::size_t command_count() const noexcept { return commands_; }
  // Replies the server sends for this request (RESP3 subscribe commands answer with pushes).
  [[nodiscard]] std::size_t reply_count() const noexcept { return replies_; }
  // True when a command may block the connection (BLPOP, XREADGROUP ... BLOCK, WAIT, ...):
  // such requests are refused on a shared pipelined connection.
  [[nodiscard]] bool has_blocking_command() const noexcept { return blocking_; }
  // The slot shared by every key marked with key{}; nullopt when no key was marked.
  [[nodiscard]] std::optional<std::uint16_t> slot() const noexcept { return slot_; }
  // True when marked keys fall in different slots: no one cluster node can run the whole
  // request (see command_cross_slot() and has_transaction() for whether it can be split).
  [[nodiscard]] bool cross_slot() const noexcept { return cross_slot_; }
  // True when one command's own keys fall in different slots: a cluster answers CROSSSLOT
  // whatever node it reaches.
  [[nodiscard]] bool command_cross_slot() const noexcept { return command_cross_slot_; }
  // True when a command is MULTI: the request holds a transaction, which runs on one node.
  [[nodiscard]] bool has_transaction() const noexcept { return transaction_; }

  // One command of the request, for the cluster router, which splits a pipeline whose
  // commands live in different slots into one request per slot.
  struct command_info {
    std::size_t offset = 0;              // where its bytes start in payload()
    std::optional<std::uint16_t> slot;  // its first key's slot; nullopt: no key marked
    bool replied = true;                 // answered by a reply (not a RESP3 push-only one)
  };
  // Command `index` (< command_count()).
  [[nodiscard]] command_info command(std::size_t index) const noexcept;
  // Appends command `index` of `other` as it is: its bytes and what is known about it.
  void append_command(const request& other, std::size_t index);

  // Empties the request, keeping its buffer's capacity.
  void clear() noexcept;

 private:
  // Arguments `append(arg)` writes: ranges (of ranges) expand to all their leaves.
  template <class T>
  static std::size_t arg_count(const T& arg) {
    if constexpr (std::ranges::range<T> && !std::convertible_to<T, std::string_view>) {
      using element = std::remove_cvref_t<std::ranges::range_reference_t<const T>>;
      if constexpr (std::ranges::range<element> &&
                    !std::convertible_to<element, std::string_view>) {
        std::size_t n = 0;
        for (const auto& e : arg) n += arg_count(e);
        return n;
      } else {
        return static_cast<std::size_t>(std::ranges::distance(arg));
      }
    } else {
      return 1;
    }
  }

  // "$<size>\r\n" and "\r\n" around each argument (sizes below 10^9).
  static constexpr std::size_t bulk_overhead = 15;

  // Bytes `append(arg)` writes, less bulk_overhead per argument; numbers are bounded.
  template <class T>
  static std::size_t bytes_hint(const T& arg) {
    if constexpr (std::same_as<T, key>) {
      return arg.name.size();
    } else if constexpr (std::convertible_to<T, std::string_view>) {
      return std::string_view(arg).size();
    } else if constexpr (std::ranges::range<T>) {
      std::size_t n = 0;
      for (const auto& e : arg) n += bytes_hint(e);
      return n;
    } else {
      return 24;  // integers, floating point, bool
    }
  }

  template <class T>
  void append(const T& arg) {
    if constexpr (std::same_as<T, key>) {
      note_key(arg.name);
      append_bulk(arg.name);
    } else if constexpr (std::convertible_to<T, std::string_view>) {
      append_bulk(std::string_view(arg));
    } else if constexpr (std::same_as<T, bool>) {
      append_bulk(arg ? std::string_view("1") : std::string_view("0"));
    } else if constexpr (std::integral<T> || std::floating_point<T>) {
      char digits[64];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, arg);
      append_bulk(std::string_view(digits, static_cast<std::size_t>(end - digits)));
    } else if constexpr (std::ranges::range<T>) {
      for (const auto& element : arg) append(element);
    } else {
      static_assert(sizeof(T) == 0, "unsupported argument type");
    }
  }

  void reserve_more(std::size_t bytes);
  void begin_command(std::string_view command, std::size_t argc);
  void append_bulk(std::string_view data);
  void write_bulk(std::string_view data);
  void note_key(std::string_view name) noexcept;
  void end_command() noexcept;

  command_info& current() noexcept { return commands_ == 1 ? first_ : more_.back(); }

  std::string buffer_;
  std::size_t commands_ = 0;
  std::size_t replies_ = 0;
  // Per command: the first inline, so a one-command request allocates nothing for it.
  command_info first_;
  std::vector<command_info> more_;
  std::optional<std::uint16_t> slot_;
  bool cross_slot_ = false;
  bool command_cross_slot_ = false;
  bool transaction_ = false;
  bool blocking_ = false;
  // Set while appending the options of XREAD/XREADGROUP (up to STREAMS): a BLOCK option
  // makes the request blocking. skip_args_ steps over option values (COUNT n, GROUP g c) so
  // a group or consumer named "block" is not mistaken for the option.
  bool scan_for_block_ = false;
  unsigned skip_args_ = 0;
};

}  // namespace streamq::resp
