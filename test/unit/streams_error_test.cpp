// Tests of lib/streams/support/error.cpp: the "streamq.streams" error category.

#include <streamq/redis/error.hpp>
#include <streamq/streams/error.hpp>

#include <boost/system/error_code.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints error codes with it
#include <set>
#include <string>

using streamq::streams::errc;
using streamq::streams::error_code;
using streamq::streams::is_permanent;

namespace {
constexpr errc all[] = {errc::invalid_name,    errc::message_too_large,
                        errc::decode_failed,   errc::unknown_envelope_version,
                        errc::malformed_entry, errc::publish_indeterminate,
                        errc::dead_lettered,   errc::data_loss_detected,
                        errc::handler_failed,  errc::permanent_failure,
                        errc::unsafe_eviction_policy, errc::handler_timeout,
                        errc::replication_timeout, errc::delivery_limit_exceeded,
                        errc::entry_gone, errc::ownership_lost,
                        errc::rejected_by_handler, errc::invalid_utf8,
                        errc::invalid_argument, errc::fsync_unavailable,
                        errc::partitions_changed, errc::group_exists};
}

TEST_CASE("streams errors have their own category, a message each and fixed values") {
  std::set<std::string> messages;
  for (errc e : all) {
    const error_code ec = e;  // is_error_code_enum makes the conversion implicit
    CAPTURE(ec.value());
    CHECK(ec.category().name() == std::string("streamq.streams"));
    CHECK(ec == e);
    CHECK(ec.failed());
    CHECK(ec.message() != "unknown streamq streams error");
    messages.insert(ec.message());
  }
  CHECK(messages.size() == std::size(all));
  CHECK(error_code(static_cast<int>(99), streamq::streams::streams_category()).message() ==
        "unknown streamq streams error");
  // the values are written into dead-letter entries: they must never change
  CHECK(static_cast<int>(errc::invalid_name) == 1);
  CHECK(static_cast<int>(errc::decode_failed) == 3);
  CHECK(static_cast<int>(errc::malformed_entry) == 5);
  CHECK(static_cast<int>(errc::publish_indeterminate) == 6);
  CHECK(static_cast<int>(errc::permanent_failure) == 10);
  CHECK(static_cast<int>(errc::handler_timeout) == 12);
  CHECK(static_cast<int>(errc::invalid_argument) == 19);
  CHECK(static_cast<int>(errc::fsync_unavailable) == 20);
  CHECK(static_cast<int>(errc::partitions_changed) == 21);
  CHECK(static_cast<int>(errc::group_exists) == 22);
  CHECK_FALSE(is_permanent(errc::handler_timeout));  // a slow run may succeed next time
  // not equal to codes of other categories with the same value
  CHECK(error_code(errc::invalid_name) != error_code(streamq::redis::client_errc::outcome_unknown));
}

TEST_CASE("is_permanent: what no retry can fix") {
  std::set<errc> permanent;
  for (errc e : all)
    if (is_permanent(e)) permanent.insert(e);
  CHECK(permanent == std::set<errc>{errc::message_too_large, errc::decode_failed,
                                    errc::unknown_envelope_version, errc::malformed_entry,
                                    errc::permanent_failure});
  CHECK_FALSE(is_permanent(error_code()));
  CHECK_FALSE(is_permanent(streamq::redis::client_errc::outcome_unknown));
}
