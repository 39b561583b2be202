#pragma once
// The logger hook (streamq/log.hpp) writing to spdlog, for applications whose logs already go
// through spdlog (Debian's libspdlog-dev). Link streamq::spdlog (an optional library: the core
// does not depend on spdlog). Each record becomes one spdlog line:
//
//   [warning] consumer dead_lettered: handler failed 5 times topic=orders group=billing
//   entry_id=1700000000000-0 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 error="timed out"
//
// Levels map debug → debug, info → info, warning → warn, error → err. Values that hold a
// space, a quote, '=' or a control character are quoted with C-style escapes, so a line splits
// back into its fields; bytes that are not UTF-8 are written as \xNN.
//
//   auto sink = spdlog::stdout_color_mt("streamq");
//   consumer_config cfg{.group = "billing", .log = streamq::spdlog_logger(sink)};

#include <streamq/log.hpp>

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace streamq {

// A logger whose sink writes each record to `target`. Records below `min_level` are dropped
// before formatting (as any streamq::logger does); spdlog's own level applies on top. The
// returned logger shares ownership of `target`. Throws std::invalid_argument for a null target.
[[nodiscard]] logger spdlog_logger(std::shared_ptr<spdlog::logger> target,
                                   log_level min_level = log_level::info);

// The text of one record as spdlog_logger writes it (without the level): for tests and for
// sinks that want the same key=value format elsewhere.
[[nodiscard]] std::string to_text(const log_record& record);

}  // namespace streamq
