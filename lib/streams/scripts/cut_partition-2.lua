-- One old partition's step of a growth from ARGV[1] to ARGV[2] partitions: from now on the
-- partition takes only publishes routed with the new count (publish_partition-2+.lua checks),
-- and its cut, the ID of the last entry its stream holds, is recorded: every entry a publisher
-- routed here with the old count is at or below it. A new partition q (q mod old == this one)
-- is consumed by a group only once the group has drained this partition past the cut.
-- KEYS[1] the partition's meta hash, KEYS[2] the partition's stream. Fields written in the
-- meta hash: partitions (the count publishes must be routed with), cut:<new> (the cut).
-- Returns {1, cut} (also when the partition was cut before for this growth: the same cut, so
-- a rerun after a crash finds what the first run recorded), or {0, count} when the partition
-- is at another count (another growth): nothing written.
local old, new = tonumber(ARGV[1]), tonumber(ARGV[2])
local cut_field = 'cut:' .. ARGV[2]
local has = redis.call('HGET', KEYS[1], 'partitions')
if has then
  local n = tonumber(has)
  if n == new then return {1, redis.call('HGET', KEYS[1], cut_field) or '0-0'} end
  if n ~= old then return {0, n} end
end
-- No field: a partition that never went through a growth (or made before growths were
-- recorded): it took the old count.
-- The cut is the ID of the stream's last entry (not its last-generated-id, which a deleted last
-- entry would leave above anything a group can be delivered): "0-0" when it has none, so the
-- new partitions have nothing to wait for. XREVRANGE fails on a key of another type before
-- anything is written.
local cut = '0-0'
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] then cut = last[1][1] end
redis.call('HSET', KEYS[1], 'partitions', new, cut_field, cut)
return {1, cut}
