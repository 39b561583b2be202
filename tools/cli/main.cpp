// streamq: the administration command (docs/cli.md). Parses the command line with CLI11,
// then runs the chosen command's coroutine with run_command (runner.hpp).
#include "cli_state.hpp"
#include "runner.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace cli = streamq::cli;

namespace {

std::string default_url() {
  const char* env = std::getenv("STREAMQ_REDIS_URL");
  return env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6379";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Inspect and operate streamq topics, consumer groups and dead letters on a Redis "
               "server.\nExit codes: 0 ok, 1 runtime error (the server refused, a timeout, the "
               "connection lost), 2 usage error (also a destructive command without --yes when "
               "stdin is not a terminal), 3 cannot connect or authenticate, 4 topic, group or "
               "entry not found.",
               "streamq"};
  app.require_subcommand(1);
  // Global options may follow the command too ("streamq groups T --json").
  app.fallthrough();

  cli::cli_state state;
  state.run.url = default_url();
  long timeout_ms = 10000;
  // No default shown: the URL may hold a password, and --help must never print it.
  app.add_option("--redis", state.run.url,
                 "Server URL, redis://[user[:password]@]host[:port][/db] (also rediss://, "
                 "unix://). Default: $STREAMQ_REDIS_URL, else redis://127.0.0.1:6379");
  app.add_flag("--json", state.out.json, "Print JSON (keys in docs/cli.md)");
  app.add_option("--timeout-ms", timeout_ms,
                 "Deadline of the whole command, connecting included (tail: of connecting)")
      ->check(CLI::Range(1L, 3600L * 1000L))
      ->capture_default_str();
  app.add_option("--key-prefix", state.out.key_prefix,
                 "Key prefix of the topics (consumer_config::key_prefix)")
      ->capture_default_str();
  app.add_flag("--yes,-y", state.yes,
               "Do not ask before destructive commands (required when stdin is not a terminal)");
  app.add_option("--proto", state.payloads.protos,
                 "A .proto file whose message types render payloads as JSON (repeatable)")
      ->check(CLI::ExistingFile);
  app.add_option("--proto-path", state.payloads.proto_paths,
                 "A directory where the imports of --proto files are found (repeatable)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--descriptor-set", state.payloads.descriptor_sets,
                 "A FileDescriptorSet (protoc --descriptor_set_out --include_imports) whose "
                 "message types render payloads as JSON (repeatable)")
      ->check(CLI::ExistingFile);

  cli::add_topics_command(app, state);
  cli::add_inspect_commands(app, state);
  cli::add_dead_letter_commands(app, state);
  cli::add_schedule_commands(app, state);
  cli::add_trim_command(app, state);
  cli::add_tail_command(app, state);
  cli::add_replay_command(app, state);

#ifdef STREAMQ_CLI_SERVE
  cli::add_serve_command(app, state);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help (exit 0) or the error; every usage error is exit code 2.
    return app.exit(e) == 0 ? cli::exit_ok : cli::exit_usage_error;
  } catch (const cli::command_error& e) {
    // A combination of options a command's own check refused.
    std::fprintf(stderr, "streamq: %s\n", e.what());
    return e.code();
  }
  if (state.run_itself) return state.run_itself();
  state.run.timeout = std::chrono::milliseconds(timeout_ms);
  return cli::run_command(state.run, *state.body);
}
