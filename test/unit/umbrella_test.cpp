// <streamq/streamq.hpp> alone is enough to use every layer (test/check_umbrella.sh checks that
// it reaches every public header).
#include <streamq/streamq.hpp>

#include <doctest/doctest.h>

#include <type_traits>

TEST_CASE("the umbrella header brings every layer") {
  streamq::resp::request req;
  req.push("PING");
  CHECK(req.command_count() == 1);
  CHECK(streamq::streams::topic_keys("orders").stream() == "streamq:{orders}:stream");
  CHECK(streamq::streams::make_error_code(streamq::streams::errc::invalid_argument).value() == 19);
  static_assert(std::is_class_v<streamq::client>);
  static_assert(std::is_class_v<streamq::redis::connection>);
  static_assert(std::is_class_v<streamq::streams::publisher>);
  static_assert(std::is_class_v<streamq::streams::consumer>);
  static_assert(std::is_class_v<streamq::streams::scheduler>);
  static_assert(std::is_class_v<streamq::streams::dead_letters>);
  static_assert(std::is_class_v<streamq::streams::durable_publisher>);
}
