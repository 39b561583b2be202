-- The last step of a growth from ARGV[1] to ARGV[2] partitions, after cut_partition-2.lua ran
-- on every old partition: sets the topic's count, so publishers and consumers see the new
-- partitions, and records, per new partition q, the old partition it waits for (q mod old)
-- and that partition's cut.
-- KEYS[1] the topic's partitions hash; ARGV[3..] the cuts of old partitions 0 .. old-1.
-- Fields written: count, changed_ms, from:<new>, grown:<new> (the old count), after:<q> (the
-- old partition) and cut:<q> (its cut) for each new q; growing is removed.
-- Returns {new, 1} when it finished the growth, {new, 0} when it was finished before, {count,
-- -1} when the topic is not growing from old to new (nothing written).
local old, new = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if now == new then return {now, 0} end
if now ~= old or tonumber(redis.call('HGET', KEYS[1], 'growing') or '0') ~= new then
  return {now, -1}
end
if #ARGV - 2 ~= old then
  return redis.error_reply('ERR finish_growth: one cut per old partition expected')
end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'count', new, 'changed_ms', ms, 'from:' .. new, ms,
           'grown:' .. new, old)
for q = old, new - 1 do
  local p = q % old
  redis.call('HSET', KEYS[1], 'after:' .. q, p, 'cut:' .. q, ARGV[3 + p])
end
redis.call('HDEL', KEYS[1], 'growing')
return {new, 1}
