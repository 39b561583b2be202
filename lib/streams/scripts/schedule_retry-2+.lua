-- Schedules the retry of a failed entry; the entry stays in the group's pending list, owned by
-- ARGV[2], under its own ID.
-- KEYS[1] topic stream, KEYS[2] the group's retry set, KEYS[3] (only for a partition's
-- consumer) the partition's lease hash for the group, in the stream's slot.
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry ID, ARGV[4] delay ms; with KEYS[3], ARGV[5]
-- the lease's owner and ARGV[6] the epoch held.
-- Returns {1, due ms, now ms}; {0} when ARGV[2] does not own the entry any more (another
-- consumer took it over, or it was acknowledged): the new owner decides; {-1} (nothing
-- written) when the lease names another owner or epoch: a member that lost the partition
-- (paused past its lease) cannot schedule what its successor answers for.
if KEYS[3] then
  local lease = redis.call('HMGET', KEYS[3], 'owner', 'epoch')
  if lease[1] ~= ARGV[5] or lease[2] ~= ARGV[6] then return {-1} end
end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)[1]
if not p or p[2] ~= ARGV[2] then return {0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], due, ARGV[3])
return {1, due, now}
