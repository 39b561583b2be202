-- Sets a topic's partition count: creates it, or begins a growth; never shrinks it (a key's
-- messages would be left in a partition nobody reads any more), and grows it only to a
-- multiple of the count it has, so that a key either stays in its partition p or moves to a
-- new partition q with q mod old == p (docs/partitions.md, "Growing a topic").
-- KEYS[1] the topic's partitions hash; ARGV[1] the count wanted (1 to max_partitions: the
-- caller checks). Fields: count, changed_ms (server time of the last change), from:<n> (the
-- server time at which the count became n), growing (the target of a growth begun and not yet
-- finished).
-- Returns {count now, outcome[, target]}: 1 created (the topic had no count); 0 it already
-- has that count; -1 fewer asked for; -2 not a multiple of the count; -3 another growth is
-- unfinished (its target third: rerun set_partitions with it); 2 a growth begun (or begun
-- before and not finished): `growing` records the target, the count is unchanged until
-- finish_growth-1.lua, after cut_partition-2.lua ran on every old partition. Only 1 and 2 write.
local wanted = tonumber(ARGV[1])
local now = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if wanted == now then return {now, 0} end
if wanted < now then return {now, -1} end
local growing = tonumber(redis.call('HGET', KEYS[1], 'growing') or '0')
if growing ~= 0 and growing ~= wanted then return {now, -3, growing} end
if now == 0 then
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[1], 'count', wanted, 'changed_ms', ms, 'from:' .. wanted, ms)
  return {wanted, 1}
end
if wanted % now ~= 0 then return {now, -2} end
redis.call('HSET', KEYS[1], 'growing', wanted)
return {now, 2}
