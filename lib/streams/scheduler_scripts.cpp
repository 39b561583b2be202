#include "scheduler_scripts.hpp"

namespace streamq::streams::detail {

const lua_script& dedup_publish_script() {
  static const lua_script script(R"lua(
local first = redis.call('GET', KEYS[2])
-- Entry IDs contain '-'; a value without one is a task ID that a scheduler of wave 1 wrote
-- here, when tasks shared this namespace. It is no publish: it suppresses nothing, and this
-- publish's SET takes the key over.
if first and string.find(first, '-', 1, true) then
  redis.call('HINCRBY', KEYS[3], 'duplicates_suppressed', 1)
  return {0, first}
end
local id = redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {1, id}
)lua");
  return script;
}

const lua_script& schedule_script() {
  static const lua_script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] ~= '0' then
  local first = redis.call('GET', KEYS[4])
  -- Wave 1 kept task keys in the publisher's namespace: a task ID there (no '-', unlike an
  -- entry ID) still suppresses a task with its key until it expires.
  if not first and KEYS[5] ~= KEYS[3] then
    local old = redis.call('GET', KEYS[5])
    if old and not string.find(old, '-', 1, true) then first = old end
  end
  if first then
    redis.call('HINCRBY', KEYS[3], 'duplicates_suppressed', 1)
    return {0, first, 0, now}
  end
end
local due = tonumber(ARGV[1])
if ARGV[4] == 'in' then due = now + due end
-- Zero-padded sequence numbers: tasks due at the same millisecond sort, and so are moved,
-- in the order they were scheduled.
local id = string.format('%016d', redis.call('HINCRBY', KEYS[3], 'delayed_seq', 1))
redis.call('ZADD', KEYS[1], due, id)
redis.call('HSET', KEYS[2], id, ARGV[2])
if ARGV[3] ~= '0' then redis.call('SET', KEYS[4], id, 'PX', ARGV[3]) end
return {1, id, due, now}
)lua");
  return script;
}

const lua_script& poll_script() {
  static const lua_script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local moved = 0
if #due > 0 then
  local envelopes = redis.call('HMGET', KEYS[3], unpack(due))
  for i = 1, #due do
    if envelopes[i] then
      redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3], ARGV[4], envelopes[i])
      moved = moved + 1
    end
  end
  redis.call('ZREM', KEYS[2], unpack(due))
  redis.call('HDEL', KEYS[3], unpack(due))
end
local next_due = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2] or '-1'
return {moved, next_due, now}
)lua");
  return script;
}

const lua_script& cancel_script() {
  static const lua_script script(R"lua(
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
)lua");
  return script;
}

const lua_script& list_scheduled_script() {
  static const lua_script script(R"lua(
local out = {}
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i]
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], ids[i]) or ''
end
return out
)lua");
  return script;
}

const lua_script& upsert_recurring_script() {
  static const lua_script script(R"lua(
local name = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], name .. '|env', ARGV[3], name .. '|policy', ARGV[4])
if redis.call('HGET', KEYS[1], name .. '|spec') ~= ARGV[2] then
  redis.call('HSET', KEYS[1], name .. '|spec', ARGV[2], name .. '|last', now)
  return 1
end
return 0
)lua");
  return script;
}

const lua_script& recurring_flag_script() {
  static const lua_script script(R"lua(
local name = ARGV[1]
if redis.call('HEXISTS', KEYS[1], name .. '|spec') == 0 then return 0 end
if ARGV[2] == 'pause' then
  redis.call('HSET', KEYS[1], name .. '|paused', '1')
elseif ARGV[2] == 'resume' then
  redis.call('HDEL', KEYS[1], name .. '|paused')
else
  redis.call('HDEL', KEYS[1], name .. '|spec', name .. '|env', name .. '|policy',
             name .. '|last', name .. '|paused')
end
return 1
)lua");
  return script;
}

const lua_script& fire_recurring_script() {
  static const lua_script script(R"lua(
local name = ARGV[1]
if redis.call('HGET', KEYS[1], name .. '|spec') ~= ARGV[2] then return -2 end
if redis.call('HGET', KEYS[1], name .. '|paused') == '1' then return -1 end
local last = tonumber(redis.call('HGET', KEYS[1], name .. '|last') or '-1')
if tonumber(ARGV[3]) <= last then return 0 end
local template = redis.call('HGET', KEYS[1], name .. '|env') or ''
redis.call('HSET', KEYS[1], name .. '|last', ARGV[3])
if ARGV[4] ~= 'fire' then return 2 end
-- Protobuf merges concatenated messages field by field (the last scalar wins), so the
-- suffix gives this occurrence its own message_id and time without decoding the template.
redis.call('XADD', KEYS[2], '*', ARGV[6], ARGV[7], ARGV[8], template .. ARGV[5])
return 1
)lua");
  return script;
}

const lua_script& ack_processed_script() {
  static const lua_script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[3])
local acked = redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))
return acked
)lua");
  return script;
}

}  // namespace streamq::streams::detail
