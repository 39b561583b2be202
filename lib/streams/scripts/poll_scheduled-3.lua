-- Moves due delayed tasks (server clock) into the stream.
-- KEYS[1] stream, KEYS[2] delayed, KEYS[3] delayed data; ARGV[1] batch, ARGV[2..4] the version
-- field, version and envelope field. Returns {moved, next due ms or -1, server now ms}.
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
