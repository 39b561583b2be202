#include <streamq/spdlog/spdlog_logger.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace {

struct captured {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> target;
  captured() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    target = std::make_shared<spdlog::logger>("streamq-test", sink);
    target->set_pattern("%l|%v");
    target->set_level(spdlog::level::trace);
  }
};

}  // namespace

TEST_CASE("spdlog_logger: a record becomes one line with its level, event and key=value fields") {
  captured c;
  const auto log = streamq::spdlog_logger(c.target, streamq::log_level::debug);
  log.log(streamq::log_level::warning, "consumer", "dead_lettered", "handler failed 5 times",
          {{"topic", "orders"},
           {"group", "billing"},
           {"entry_id", "1700000000000-0"},
           {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
           {"error", "timed out"}});
  CHECK(c.out.str() ==
        "warning|consumer dead_lettered: handler failed 5 times topic=orders group=billing "
        "entry_id=1700000000000-0 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 "
        "error=\"timed out\"\n");
}

TEST_CASE("spdlog_logger: levels map to spdlog's, and both minimum levels filter") {
  captured c;
  const auto log = streamq::spdlog_logger(c.target, streamq::log_level::info);
  log.log(streamq::log_level::debug, "consumer", "read", "dropped by streamq's minimum");
  log.log(streamq::log_level::info, "consumer", "started", "");
  log.log(streamq::log_level::error, "consumer", "ack_failed", "");
  c.target->set_level(spdlog::level::err);
  log.log(streamq::log_level::warning, "consumer", "claim_failed", "dropped by spdlog's level");
  CHECK(c.out.str() == "info|consumer started:\nerror|consumer ack_failed:\n");
}

TEST_CASE("spdlog_logger: values that could be misread are quoted and escaped") {
  streamq::log_field fields[] = {{"empty", ""},
                                 {"quote", "say \"hi\""},
                                 {"eq", "a=b"},
                                 {"ctl", std::string_view("a\nb\x01", 4)},
                                 {"utf8", "caf\xC3\xA9"},
                                 {"bad", "k\xFF"}};
  const streamq::log_record record{streamq::log_level::info, "c", "e", "m", fields};
  CHECK(streamq::to_text(record) ==
        "c e: m empty=\"\" quote=\"say \\\"hi\\\"\" eq=\"a=b\" ctl=\"a\\nb\\x01\" "
        "utf8=\"caf\xC3\xA9\" bad=\"k\\xff\"");
}

TEST_CASE("spdlog_logger: a null target is refused") {
  CHECK_THROWS_AS((void)streamq::spdlog_logger(nullptr), std::invalid_argument);
}
