// `streamq dead-letters ...`: see dead_letter_commands.hpp.
#include "dead_letter_commands.hpp"

#include "output.hpp"
#include "payloads.hpp"
#include "terminal.hpp"

#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/error.hpp>

#include "sansio/replay_plan.hpp"  // parse_entry_id

#include <CLI/CLI.hpp>
#include <boost/system/system_error.hpp>

#include <cstdio>
#include <memory>
#include <optional>

namespace streamq::cli {

namespace asio = boost::asio;
namespace sd = streams::detail;

namespace {

std::string where(const dead_letter_selection& s) {
  return s.topic + "/" + s.group;
}

std::string letter_json(const streams::dead_letter_entry& e) {
  json_object item;
  item.add("id", json_string(e.id)).add("decoded", e.decoded ? "true" : "false");
  if (!e.decoded) return item.add("error", json_string(e.error.message())).str();
  return item.add("original_id", json_string(e.letter.original_entry_id()))
      .add("type", json_string(e.letter.envelope().type()))
      .add("attempts", std::to_string(e.letter.attempts()))
      .add("consumer", json_string(e.letter.consumer()))
      .add("error_code", json_string(e.letter.error_code()))
      .add("last_error", json_string(e.letter.last_error()))
      .add("dead_lettered_at_ms", std::to_string(e.letter.dead_lettered_at_unix_ms()))
      .str();
}

// The IDs a selection names, oldest first: as given, or those of the range read page by page.
asio::awaitable<std::vector<std::string>> selected_ids(streams::dead_letters& letters,
                                                       const dead_letter_selection& s) {
  if (!s.ids.empty()) {
    for (const auto& id : s.ids)
      if (!co_await letters.get(id))
        throw command_error(exit_not_found,
                            "dead letter " + json_string(id) + " does not exist in " + where(s));
    co_return s.ids;
  }
  const auto first =
      s.all || s.from.empty() || s.from == "-" ? sd::entry_id{} : *sd::parse_entry_id(s.from, 0);
  const auto last = s.all || s.to.empty() || s.to == "+" ? sd::max_entry_id
                                                         : *sd::parse_entry_id(s.to, UINT64_MAX);
  std::vector<std::string> ids;
  std::string after = "-";
  for (;;) {
    const auto page = co_await letters.list(streams::dead_letters::batch_size, after);
    for (const auto& e : page) {
      const auto id = sd::parse_entry_id(e.id);
      if (id && *id > last) co_return ids;
      if (id && *id >= first) ids.push_back(e.id);
    }
    if (page.size() < streams::dead_letters::batch_size) co_return ids;
    after = page.back().id;
  }
}

// The group's dead letters, once the topic and the group are known to exist (exit code 4
// otherwise: a dead-letter stream alone says nothing about either).
asio::awaitable<streams::dead_letters> group_letters(client& c, const cli_state& state,
                                                     const std::string& topic,
                                                     const std::string& group) {
  const streams::topic_keys keys(topic, state.out.key_prefix);
  co_await require_group(c, keys, group);
  co_return streams::dead_letters(c, topic, group, state.out.key_prefix);
}

std::string count_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " dead letter" : " dead letters");
}

// Why a dead letter was not requeued, from requeue()'s documented errors.
std::optional<std::string> skip_reason(const boost::system::error_code& ec) {
  if (ec == boost::system::errc::no_such_file_or_directory) return "missing";
  if (ec == streams::errc::entry_gone) return "entry_gone";
  if (ec == streams::errc::malformed_entry) return "malformed";
  return std::nullopt;
}

}  // namespace

void check_selection(const dead_letter_selection& s) {
  const bool range = !s.from.empty() || !s.to.empty();
  const int chosen = (s.ids.empty() ? 0 : 1) + (range ? 1 : 0) + (s.all ? 1 : 0);
  if (chosen != 1)
    throw command_error(exit_usage_error,
                        "give dead-letter IDs, --from/--to, or --all (one of them)");
  const auto check_id = [](const std::string& id, const char* what) {
    if (!sd::parse_entry_id(id))
      throw command_error(exit_usage_error, std::string(what) + ": not an entry ID: " + id);
  };
  for (const auto& id : s.ids) check_id(id, "ID");
  if (!s.from.empty() && s.from != "-") check_id(s.from, "--from");
  if (!s.to.empty() && s.to != "+") check_id(s.to, "--to");
}

asio::awaitable<void> show_dead_letters(client& c, const cli_state& state,
                                        dead_letter_query query) {
  auto letters = co_await group_letters(c, state, query.topic, query.group);
  const auto entries = co_await letters.list(query.count, query.after);
  if (state.out.json) {
    std::vector<std::string> items;
    for (const auto& e : entries) items.push_back(letter_json(e));
    std::printf("%s\n", json_object()
                            .add("topic", json_string(query.topic))
                            .add("group", json_string(query.group))
                            .add("entries", json_array(items))
                            .str()
                            .c_str());
    co_return;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& e : entries) {
    if (e.decoded)
      table.push_back({e.id, e.letter.original_entry_id(), e.letter.envelope().type(),
                       std::to_string(e.letter.attempts()), e.letter.last_error()});
    else
      table.push_back({e.id, "-", "-", "-", "not a dead letter: " + e.error.message()});
  }
  print_table({"ID", "ORIGINAL-ID", "TYPE", "ATTEMPTS", "LAST-ERROR"}, table);
}

asio::awaitable<void> show_dead_letter(client& c, const cli_state& state, std::string topic,
                                       std::string group, std::string id) {
  const auto renderer = make_renderer(state.payloads);
  auto letters = co_await group_letters(c, state, topic, group);
  const auto entry = co_await letters.get(id);
  if (!entry)
    throw command_error(exit_not_found, "dead letter " + json_string(id) + " does not exist in " +
                                            topic + "/" + group);
  const auto& envelope = entry->letter.envelope();
  if (state.out.json) {
    std::string line = letter_json(*entry);
    if (entry->decoded) {
      line.pop_back();  // reopen the object to add the envelope
      line += ",\"envelope\":" + admin::envelope_json(envelope, &renderer) + "}";
    }
    std::printf("%s\n", line.c_str());
    co_return;
  }
  if (!entry->decoded) {
    std::printf("id        %s\nnot a dead letter: %s\n", entry->id.c_str(),
                entry->error.message().c_str());
    co_return;
  }
  const auto& l = entry->letter;
  std::printf(
      "id            %s\noriginal-id   %s\nattempts      %u\nconsumer      %s\n"
      "error-code    %s\nlast-error    %s\ndead-at-ms    %llu\nmessage-id    %s\n"
      "type          %s\npayload       %s\n",
      entry->id.c_str(), l.original_entry_id().c_str(), static_cast<unsigned>(l.attempts()),
      l.consumer().c_str(), l.error_code().c_str(), l.last_error().c_str(),
      static_cast<unsigned long long>(l.dead_lettered_at_unix_ms()), envelope.message_id().c_str(),
      envelope.type().c_str(), payload_text(envelope, renderer).c_str());
}

asio::awaitable<void> requeue_dead_letters(client& c, const cli_state& state,
                                           dead_letter_selection s) {
  check_selection(s);
  auto letters = co_await group_letters(c, state, s.topic, s.group);
  const auto ids = co_await selected_ids(letters, s);
  if (!ids.empty())
    confirm(state.yes, "Requeue " + count_text(ids.size()) + " of " + where(s) + "?",
            "requeue " + count_text(ids.size()) + " of " + where(s));
  std::vector<std::string> items;
  std::vector<std::vector<std::string>> rows;
  std::size_t requeued = 0;
  progress_bar bar(progress_wanted(state.out.json, stdout_is_terminal()), "requeue", ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::string outcome = "requeued";
    std::optional<std::string> entry_id;
    try {
      entry_id = co_await letters.requeue(ids[i]);
      ++requeued;
    } catch (const boost::system::system_error& e) {
      const auto reason = skip_reason(e.code());
      if (!reason) throw;
      outcome = *reason;
    }
    bar.update(i + 1);
    items.push_back(json_object()
                        .add("id", json_string(ids[i]))
                        .add("outcome", json_string(outcome))
                        .add("entry_id", entry_id ? json_string(*entry_id) : "null")
                        .str());
    rows.push_back({ids[i], outcome, entry_id.value_or("-")});
  }
  bar.finish();
  if (state.out.json) {
    std::printf("%s\n", json_object()
                            .add("topic", json_string(s.topic))
                            .add("group", json_string(s.group))
                            .add("selected", std::to_string(ids.size()))
                            .add("requeued", std::to_string(requeued))
                            .add("entries", json_array(items))
                            .str()
                            .c_str());
    co_return;
  }
  print_table({"ID", "OUTCOME", "ENTRY-ID"}, rows);
  std::printf("requeued %zu of %s of %s\n", requeued, count_text(ids.size()).c_str(),
              where(s).c_str());
}

asio::awaitable<void> purge_dead_letters(client& c, const cli_state& state,
                                         dead_letter_selection s) {
  check_selection(s);
  auto letters = co_await group_letters(c, state, s.topic, s.group);
  std::size_t purged = 0;
  std::size_t selected = 0;
  if (s.all) {
    // One transaction (purge_all): nothing to show progress of.
    selected = co_await letters.count();
    if (selected > 0)
      confirm(state.yes, "Purge all " + count_text(selected) + " of " + where(s) + "?",
              "purge " + count_text(selected) + " of " + where(s));
    purged = co_await letters.purge_all();
  } else {
    const auto ids = co_await selected_ids(letters, s);
    selected = ids.size();
    if (!ids.empty())
      confirm(state.yes, "Purge " + count_text(ids.size()) + " of " + where(s) + "?",
              "purge " + count_text(ids.size()) + " of " + where(s));
    progress_bar bar(progress_wanted(state.out.json, stdout_is_terminal()), "purge", ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (co_await letters.purge(ids[i])) ++purged;
      bar.update(i + 1);
    }
  }
  if (state.out.json) {
    std::printf("%s\n", json_object()
                            .add("topic", json_string(s.topic))
                            .add("group", json_string(s.group))
                            .add("selected", std::to_string(selected))
                            .add("purged", std::to_string(purged))
                            .str()
                            .c_str());
    co_return;
  }
  std::printf("purged %s of %s\n", count_text(purged).c_str(), where(s).c_str());
}

void add_dead_letter_commands(CLI::App& app, cli_state& state) {
  struct options {
    dead_letter_query list;
    std::string topic;
    std::string group;
    std::string id;
    dead_letter_selection requeue;
    dead_letter_selection purge;
  };
  const auto o = std::make_shared<options>();
  auto* dead = app.add_subcommand("dead-letters", "A consumer group's dead letters");
  dead->require_subcommand(1);
  dead->fallthrough();

  auto* list = dead->add_subcommand(
      "list", "Dead letters, oldest first: ID, original entry ID, type, attempts, last error");
  list->add_option("TOPIC", o->list.topic, "The topic")->required();
  list->add_option("GROUP", o->list.group, "The consumer group")->required();
  list->add_option("--count", o->list.count, "Entries at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  list->add_option("--after", o->list.after, "List those after this dead-letter ID (to page)")
      ->capture_default_str();
  list->callback([&state, o] {
    state.body = [&state, o](client& c) { return show_dead_letters(c, state, o->list); };
  });

  auto* show = dead->add_subcommand(
      "show",
      "One dead letter in full: why it failed, its envelope, and its payload (as JSON "
      "with --proto or --descriptor-set, raw bytes otherwise)");
  show->add_option("TOPIC", o->topic, "The topic")->required();
  show->add_option("GROUP", o->group, "The consumer group")->required();
  show->add_option("ID", o->id, "The dead letter's ID (dead-letters list)")->required();
  show->callback([&state, o] {
    state.body = [&state, o](client& c) {
      return show_dead_letter(c, state, o->topic, o->group, o->id);
    };
  });

  const auto add_selection = [](CLI::App* cmd, dead_letter_selection& s) {
    cmd->add_option("TOPIC", s.topic, "The topic")->required();
    cmd->add_option("GROUP", s.group, "The consumer group")->required();
    cmd->add_option("ID", s.ids, "Dead-letter IDs (or --from/--to, or --all)");
    cmd->add_option("--from", s.from,
                    "First dead-letter ID of a range, inclusive (\"-\": the first)");
    cmd->add_option("--to", s.to, "Last dead-letter ID of a range, inclusive (\"+\": the last)");
    cmd->add_flag("--all", s.all, "Every dead letter of the group");
  };
  auto* requeue = dead->add_subcommand(
      "requeue",
      "Hand dead letters back to their consumer group (pending again, a full set of "
      "attempts). Asks first unless --yes");
  add_selection(requeue, o->requeue);
  requeue->callback([&state, o] {
    check_selection(o->requeue);
    state.body = [&state, o](client& c) { return requeue_dead_letters(c, state, o->requeue); };
  });
  auto* purge = dead->add_subcommand("purge", "Delete dead letters. Asks first unless --yes");
  add_selection(purge, o->purge);
  purge->callback([&state, o] {
    check_selection(o->purge);
    state.body = [&state, o](client& c) { return purge_dead_letters(c, state, o->purge); };
  });
}

}  // namespace streamq::cli
