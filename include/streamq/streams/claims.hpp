#pragma once
// Keeping a claim on pending entries alive, safely.
//
// A handler that runs longer than the claim idle time would have its entry taken over by
// another consumer. Refreshing the claim with plain XCLAIM is unsafe: XCLAIM does not check
// the current owner, so a consumer that was paused (GC, SIGSTOP, a slow VM) and wakes after
// its entries were legitimately taken over would steal them back. refresh_claims checks the
// owner and refreshes in one Lua script, so it only ever touches entries still owned by
// `consumer`.

#include <streamq/client.hpp>
#include <streamq/streams/names.hpp>

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string>
#include <vector>

namespace streamq::streams {

// Resets the idle time of those `ids` that are still pending for `consumer` in `group`
// (XCLAIM ... JUSTID: the delivery count is not raised) and returns them; ids owned by
// another consumer, or no longer pending, are left alone and not returned.
// Throws boost::system::system_error on transport or server errors.
boost::asio::awaitable<std::vector<std::string>> refresh_claims(client& c, const topic_keys& keys,
                                                                std::string group,
                                                                std::string consumer,
                                                                std::vector<std::string> ids);

}  // namespace streamq::streams
