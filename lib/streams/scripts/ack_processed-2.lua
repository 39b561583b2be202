-- Once-only handling: records a message as handled and acknowledges its entry together.
-- KEYS[1] processed set of a group, KEYS[2] stream; ARGV[1] group, ARGV[2] entry ID, ARGV[3]
-- message key, ARGV[4] remember_for ms. Records the message as handled (server time) and
-- acknowledges the entry; forgets records older than remember_for. Returns XACK's count.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[3])
local acked = redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))
return acked
