-- Records one member of a consumer group as alive, and answers who is (docs/wire-format.md,
-- section 12).
-- KEYS[1] the group's members sorted set (member = consumer name, score = when its membership
-- expires, server ms). ARGV[1] member, ARGV[2] ttl ms, ARGV[3] '1' when the member is leaving.
-- Drops the members whose time ran out (score <= now), then adds ARGV[1] with now + ttl, or
-- removes it when leaving; the set expires with its last member, so a group gone leaves no key.
-- Returns the live members' names sorted by bytes (not by Lua's `<`, which follows the
-- server's collation locale), ARGV[1] included unless leaving.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]) + 1) end
local names = redis.call('ZRANGE', KEYS[1], 0, -1)
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
table.sort(names, before)
return names
