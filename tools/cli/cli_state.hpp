#pragma once
// What the command line fills in and the chosen command reads: the global options and the
// body to run. main.cpp declares the global options; each command family registers its
// subcommands from its own file with an add_*_commands function, whose callbacks set `body`.

#include "inspect_commands.hpp"  // output_options
#include "runner.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace streamq::cli {

// Where payload types come from (--proto, --proto-path, --descriptor-set): payloads of a
// known type are shown as JSON, any other as raw bytes.
struct payload_sources {
  std::vector<std::string> protos;           // .proto files, compiled when the command starts
  std::vector<std::string> proto_paths;      // import directories for those files
  std::vector<std::string> descriptor_sets;  // FileDescriptorSet files (protoc -o)
};

struct cli_state {
  run_options run;
  output_options out;
  bool yes = false;  // --yes: destructive commands proceed without asking
  payload_sources payloads;
  std::optional<command_body> body;
  // A long-running command (serve) runs itself instead of `body`: reconnecting, no overall
  // deadline; its result is the exit code.
  std::function<int()> run_itself;
};

// Each registers one family of subcommands on `app`; `state` must outlive app.parse() and the
// body it sets.
void add_topics_command(CLI::App& app, cli_state& state);    // topics
void add_inspect_commands(CLI::App& app, cli_state& state);  // groups, consumers, topic, pending
void add_dead_letter_commands(CLI::App& app, cli_state& state);  // dead-letters ...
void add_replay_command(CLI::App& app, cli_state& state);        // replay
void add_schedule_commands(CLI::App& app, cli_state& state);     // delayed ..., recurring ...
void add_trim_command(CLI::App& app, cli_state& state);          // trim
void add_tail_command(CLI::App& app, cli_state& state);          // tail
// serve: only where the dashboard library is built (STREAMQ_CLI_SERVE), serve_command.cpp.
void add_serve_command(CLI::App& app, cli_state& state);

}  // namespace streamq::cli
