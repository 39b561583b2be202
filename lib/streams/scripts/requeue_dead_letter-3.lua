-- Hands a dead letter's entry back to the group that dead-lettered it, and only to it: the
-- entry (still in the topic stream under its original ID) is made pending in the group again
-- with a delivery count of 0 and a retry due now, and the dead letter is deleted.
-- KEYS[1] the group's dead-letter stream, KEYS[2] topic stream, KEYS[3] the group's retry set.
-- ARGV[1] group, ARGV[2] dead letter ID, ARGV[3] original entry ID, ARGV[4] the consumer to
-- own it until a consumer takes the retry.
-- Returns {1, entry ID}; {2, entry ID} when the entry was pending in the group already (the
-- dead letter is deleted, the entry left as it is); {0} when the dead letter does not exist
-- (requeued or purged meanwhile: two requeues requeue once); {-1} when the entry is no longer
-- in the topic stream (nothing changes).
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then return {0} end
if #redis.call('XRANGE', KEYS[2], ARGV[3], ARGV[3]) == 0 then return {-1} end
if redis.call('XPENDING', KEYS[2], ARGV[1], ARGV[3], ARGV[3], 1)[1] then
  redis.call('XDEL', KEYS[1], ARGV[2])
  return {2, ARGV[3]}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XCLAIM', KEYS[2], ARGV[1], ARGV[4], 0, ARGV[3], 'RETRYCOUNT', 0, 'FORCE', 'JUSTID')
redis.call('ZADD', KEYS[3], now, ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[2])
return {1, ARGV[3]}
