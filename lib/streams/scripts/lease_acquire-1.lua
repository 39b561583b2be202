-- Takes or renews a partition's lease for one member of a consumer group (docs/wire-format.md,
-- section 12). The epoch is the fencing token: it only grows and is never deleted, so whoever
-- takes the lease next holds a higher one than every earlier holder.
-- KEYS[1] the lease hash (owner, epoch, until: server ms). ARGV[1] owner, ARGV[2] ttl ms,
-- ARGV[3] epoch: 0 to take the lease, the epoch held to renew it; ARGV[4] the group.
-- Taking is granted when nobody holds it, its holder's time ran out (until <= now), or
-- ARGV[1] holds it already (a restarted member under the same name: the old incarnation is
-- fenced by the new epoch); each grant increments the epoch. Renewing is granted only while
-- ARGV[1] holds it, unexpired, with that very epoch; the epoch stays.
-- The read gate: the holder of epoch E reads the partition with XREADGROUP over the partition's
-- stream and "<KEYS[1]>:gate:<E>", an empty stream with the group ARGV[4]. A grant deletes the
-- gate of the epoch before it and makes its own, so a read of an earlier holder that reaches
-- Redis late (its process was paused) fails with NOGROUP, and one blocked then is released,
-- delivering nothing. A renewal makes its gate again if it is missing. The gate shares the
-- lease's hash tag, so its slot.
-- Returns {epoch, until ms, owner} when granted; {0, until ms, owner} of the holder when
-- refused, or {0, 0, ''} when a renewal finds nobody holding it.
local h = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'until')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = h[1]
local epoch = tonumber(h[2] or '0')
local expires = tonumber(h[3] or '0')
if not holder or expires <= now then
  holder = nil
  expires = 0
end
local wanted = tonumber(ARGV[3])
if wanted == 0 then
  if holder and holder ~= ARGV[1] then return {0, expires, holder} end
  if epoch > 0 then redis.call('DEL', KEYS[1] .. ':gate:' .. epoch) end
  epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
elseif holder ~= ARGV[1] or epoch ~= wanted then
  return {0, expires, holder or ''}
end
local gate = KEYS[1] .. ':gate:' .. epoch
if redis.call('EXISTS', gate) == 0 then
  redis.call('XGROUP', 'CREATE', gate, ARGV[4], '$', 'MKSTREAM')
end
local deadline = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'until', deadline)
return {epoch, deadline, ARGV[1]}
