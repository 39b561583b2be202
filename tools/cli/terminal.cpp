// Confirmation and progress: see terminal.hpp.
#include "terminal.hpp"

#include "runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>

namespace streamq::cli {

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) == 1;
}
bool stdout_is_terminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}

confirmation confirmation_for(bool yes, bool stdin_terminal) {
  if (yes) return confirmation::proceed;
  return stdin_terminal ? confirmation::ask : confirmation::refuse;
}

bool is_yes(std::string_view answer) {
  while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.front())))
    answer.remove_prefix(1);
  while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back())))
    answer.remove_suffix(1);
  std::string lower(answer);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return lower == "y" || lower == "yes";
}

void confirm(bool yes, const std::string& question, const std::string& action) {
  switch (confirmation_for(yes, stdin_is_terminal())) {
    case confirmation::proceed:
      return;
    case confirmation::refuse:
      throw command_error(exit_usage_error,
                          "refusing to " + action + " without --yes (stdin is not a terminal)");
    case confirmation::ask:
      break;
  }
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  // The command waits for a person: that time is theirs, not the server's.
  const auto asked = std::chrono::steady_clock::now();
  std::string answer;
  std::getline(std::cin, answer);
  extend_command_deadline(std::chrono::steady_clock::now() - asked);
  if (!is_yes(answer)) throw command_error(exit_runtime_error, action + ": not confirmed");
}

bool progress_wanted(bool json, bool stdout_terminal) {
  return !json && stdout_terminal;
}

std::string render_progress(std::string_view label, std::uint64_t done,
                            std::optional<std::uint64_t> total, std::size_t width) {
  std::string line(label);
  if (!total) return line + " " + std::to_string(done);
  done = std::min(done, *total);
  const std::string count = std::to_string(done) + "/" + std::to_string(*total);
  const std::uint64_t percent = *total == 0 ? 100 : done * 100 / *total;
  const std::string tail = "  " + count + "  " + std::to_string(percent) + "%";
  // label, " [", the bar, "]", tail: the bar takes what is left, or is left out.
  const std::size_t fixed = line.size() + 3 + tail.size();
  if (width > fixed) {
    const std::size_t bar = width - fixed;
    const std::size_t filled = *total == 0 ? bar : static_cast<std::size_t>(done * bar / *total);
    line += " [" + std::string(filled, '#') + std::string(bar - filled, '.') + "]";
  }
  line += tail;
  return line.size() > width ? line.substr(0, width) : line;
}

namespace {
// Wide enough to see the bar, narrow enough for any terminal.
constexpr std::size_t progress_width = 72;
}  // namespace

progress_bar::progress_bar(bool enabled, std::string label, std::optional<std::uint64_t> total)
    : enabled_(enabled), label_(std::move(label)), total_(total) {}

progress_bar::~progress_bar() {
  finish();
}

void progress_bar::update(std::uint64_t done) {
  if (!enabled_) return;
  auto line = render_progress(label_, done, total_, progress_width);
  if (line == last_) return;
  std::fprintf(stderr, "\r%s", line.c_str());
  std::fflush(stderr);
  last_ = std::move(line);
  drawn_ = true;
}

void progress_bar::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace streamq::cli
