#pragma once
// Everything streamq offers, in one include. Each part can be included on its own too:
//   <streamq/resp/...>     the RESP codec (std only)
//   <streamq/redis/...>    connection, configuration, errors, with_deadline
//   <streamq/client.hpp>   the pipelined client the queue layer runs on
//   <streamq/streams/...>  publisher, consumer, scheduler, dead letters, retention

#include <streamq/client.hpp>
#include <streamq/log.hpp>
#include <streamq/run_until.hpp>

#include <streamq/resp/adapt.hpp>
#include <streamq/resp/error.hpp>
#include <streamq/resp/node.hpp>
#include <streamq/resp/parser.hpp>
#include <streamq/resp/request.hpp>
#include <streamq/resp/response.hpp>
#include <streamq/resp/value.hpp>

#include <streamq/redis/config.hpp>
#include <streamq/redis/connection.hpp>
#include <streamq/redis/deadline.hpp>
#include <streamq/redis/error.hpp>

#include <streamq/streams/claims.hpp>
#include <streamq/streams/consumer.hpp>
#include <streamq/streams/dead_letters.hpp>
#include <streamq/streams/durable_publisher.hpp>
#include <streamq/streams/envelope.hpp>
#include <streamq/streams/error.hpp>
#include <streamq/streams/maintenance.hpp>
#include <streamq/streams/message_id.hpp>
#include <streamq/streams/names.hpp>
#include <streamq/streams/outcome.hpp>
#include <streamq/streams/partitioned_consumer.hpp>
#include <streamq/streams/partitions.hpp>
#include <streamq/streams/publisher.hpp>
#include <streamq/streams/replay.hpp>
#include <streamq/streams/retention.hpp>
#include <streamq/streams/schedule.hpp>
#include <streamq/streams/scheduler.hpp>
#include <streamq/streams/server_check.hpp>
#include <streamq/streams/tracing.hpp>
