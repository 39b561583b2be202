-- Cancels a delayed task.
-- KEYS[1] delayed, KEYS[2] delayed data; ARGV[1] task ID. Returns 1 if removed.
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
