-- Schedules a delayed task.
-- KEYS[1] delayed, KEYS[2] delayed data, KEYS[3] meta, KEYS[4] task dedup key, KEYS[5] the same
-- key in the publisher's namespace, where wave 1 kept it (both KEYS[3] again when none);
-- ARGV[1] due unix ms ("at") or delay ms ("in": from the server's TIME), ARGV[2] serialized
-- envelope, ARGV[3] dedup window ms ("0": none), ARGV[4] "at" or "in".
-- Returns {1, task ID, due ms, server now ms} or {0, the earlier task's ID, 0, now}.
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
