-- Once-only handling: records a message as handled and acknowledges its entry together.
-- KEYS[1] processed set of a group, KEYS[2] stream, KEYS[3] (only for a partition's consumer)
-- the partition's lease hash for the group; ARGV[1] group, ARGV[2] entry ID, ARGV[3] message
-- key, ARGV[4] remember_for ms; with KEYS[3], ARGV[5] the lease's owner and ARGV[6] the epoch
-- held. Records the message as handled (server time) and acknowledges the entry; forgets
-- records older than remember_for. Returns XACK's count, or -1 (nothing written) when the
-- lease names another owner or epoch (ack_fenced-2.lua's rule).
if KEYS[3] then
  local lease = redis.call('HMGET', KEYS[3], 'owner', 'epoch')
  if lease[1] ~= ARGV[5] or lease[2] ~= ARGV[6] then return -1 end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[3])
local acked = redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))
return acked
