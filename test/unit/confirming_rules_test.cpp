// Tests of lib/streams/sansio/confirming.hpp: how durable_publisher confirms on one master
// (WAIT, WAITAOF, asking first, refusing) and what a confirmation's reply means. No server.
#include "streams/sansio/confirming.hpp"

#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/error.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <ostream>  // doctest prints error codes with it

using namespace streamq::streams;
using namespace streamq::streams::detail;

TEST_CASE("confirming: replicated always WAITs and never asks the server") {
  for (std::optional<bool> capable : {std::optional<bool>{}, std::optional<bool>{true},
                                      std::optional<bool>{false}})
    CHECK(next_confirm_step(confirmation::replicated, capable) == confirm_step::wait);
}

TEST_CASE("confirming: fsynced asks once per connection, then WAITAOF or refuses") {
  CHECK(next_confirm_step(confirmation::fsynced, std::nullopt) == confirm_step::ask_fsync);
  CHECK(next_confirm_step(confirmation::fsynced, true) == confirm_step::waitaof);
  CHECK(next_confirm_step(confirmation::fsynced, false) == confirm_step::refuse);
}

TEST_CASE("confirming: fsynced_if_available falls back to WAIT where the master cannot fsync") {
  CHECK(next_confirm_step(confirmation::fsynced_if_available, std::nullopt) ==
        confirm_step::ask_fsync);
  CHECK(next_confirm_step(confirmation::fsynced_if_available, true) == confirm_step::waitaof);
  CHECK(next_confirm_step(confirmation::fsynced_if_available, false) == confirm_step::wait);
}

TEST_CASE("confirming: a WAIT confirms once enough replicas have the writes") {
  CHECK_FALSE(confirmation_outcome({.replicas = 2}, 2));
  CHECK_FALSE(confirmation_outcome({.replicas = 3}, 2));
  CHECK(confirmation_outcome({.replicas = 1}, 2) == errc::replication_timeout);
  // WAIT's own count has no local part: it is not read.
  CHECK_FALSE(confirmation_outcome({.local = 0, .replicas = 1}, 1));
  CHECK(confirmation_outcome({.refused = true}, 1) == errc::replication_timeout);
}

TEST_CASE("confirming: a WAITAOF confirms once the master and enough replicas fsynced") {
  CHECK_FALSE(confirmation_outcome({.fsync = true, .local = 1, .replicas = 1}, 1));
  CHECK_FALSE(confirmation_outcome({.fsync = true, .local = 1, .replicas = 0}, 0));
  // The master's own fsync did not come in time (appendfsync everysec, a slow disk).
  CHECK(confirmation_outcome({.fsync = true, .local = 0, .replicas = 1}, 1) ==
        errc::replication_timeout);
  CHECK(confirmation_outcome({.fsync = true, .local = 0, .replicas = 0}, 0) ==
        errc::replication_timeout);
  // A replica without AOF never counts.
  CHECK(confirmation_outcome({.fsync = true, .local = 1, .replicas = 0}, 1) ==
        errc::replication_timeout);
  // Refused after the check: AOF switched off meanwhile.
  CHECK(confirmation_outcome({.fsync = true, .refused = true}, 1) == errc::fsync_unavailable);
}

TEST_CASE("durability_config: replicas 0 only where the master's own fsync confirms") {
  durability_config config;
  config.replicas = 0;
  CHECK_THROWS_AS(config.validate(), std::invalid_argument);
  config.confirm = confirmation::fsynced_if_available;
  CHECK_THROWS_AS(config.validate(), std::invalid_argument);
  config.confirm = confirmation::fsynced;
  CHECK_NOTHROW(config.validate());
}
