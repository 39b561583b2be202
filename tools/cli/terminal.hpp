#pragma once
// Talking to the person at the terminal: the confirmation that destructive commands ask for,
// and the progress bar of long operations (requeue, purge, replay). Both decide with pure
// functions (tested in test/cli) and write only to stderr, so stdout stays the command's
// output.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streamq::cli {

[[nodiscard]] bool stdin_is_terminal();
[[nodiscard]] bool stdout_is_terminal();

// What a destructive command does before it changes anything.
enum class confirmation : std::uint8_t {
  proceed,  // --yes was given
  ask,      // stdin is a terminal: ask the question, proceed on "y" or "yes"
  refuse,   // stdin is not a terminal: a script must say --yes; exit code 2
};
[[nodiscard]] confirmation confirmation_for(bool yes, bool stdin_terminal);
// True for the answers that confirm: "y" or "yes", any case, surrounding blanks ignored.
[[nodiscard]] bool is_yes(std::string_view answer);

// Asks `question` ("Requeue 12 dead letters of orders/billing?") followed by " [y/N] " on
// stderr and reads the answer from stdin, unless `yes`. Throws command_error: exit code 2 with
// "refusing to <action> without --yes (stdin is not a terminal)" when stdin is not a terminal,
// exit code 1 with "<action>: not confirmed" when the answer is not yes. The time spent
// waiting for the answer does not count against the command's deadline
// (extend_command_deadline, runner.hpp).
void confirm(bool yes, const std::string& question, const std::string& action);

// Whether a progress bar is drawn: only for people (stdout a terminal), never with --json.
[[nodiscard]] bool progress_wanted(bool json, bool stdout_terminal);

// One line of progress, `width` characters at most, for example
//   "requeue [#########...........]  45/100  45%"
// or, when the total is not known, "purge 45". `done` above `total` shows as the total.
[[nodiscard]] std::string render_progress(std::string_view label, std::uint64_t done,
                                          std::optional<std::uint64_t> total, std::size_t width);

// Draws render_progress on stderr ("\r" then the line) when enabled, and only when the line
// changes; finish() ends the line. Disabled, it does nothing.
class progress_bar {
 public:
  progress_bar(bool enabled, std::string label, std::optional<std::uint64_t> total);
  ~progress_bar();
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  void update(std::uint64_t done);
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::optional<std::uint64_t> total_;
  std::string last_;
};

}  // namespace streamq::cli
