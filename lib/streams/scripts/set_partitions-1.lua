-- Sets a topic's partition count: creates it, or grows it; never shrinks it (a key's messages
-- would be left in a partition nobody reads any more).
-- KEYS[1] the topic's partitions hash; ARGV[1] the count wanted (1 to max_partitions: the
-- caller checks). Fields: count, changed_ms (server time of the last change), and from:<n>,
-- the server time at which the count became n (the history a growth protocol reads).
-- Returns {count now, 1} when it set or grew it, {count, 0} when it already was that, and
-- {count, -1} when fewer were asked for (nothing changed).
local wanted = tonumber(ARGV[1])
local now = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if wanted == now then return {now, 0} end
if wanted < now then return {now, -1} end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'count', wanted, 'changed_ms', ms, 'from:' .. wanted, ms)
return {wanted, 1}
