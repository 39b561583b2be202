-- Gives a partition's lease up, so another member may take it before its time runs out.
-- KEYS[1] the lease hash (owner, epoch, until). ARGV[1] owner, ARGV[2] the epoch it holds.
-- Removes `owner` and `until` only when ARGV[1] is the owner recorded with that epoch (expired
-- or not: nobody took it since, or the epoch would have grown), and the epoch's read gate
-- (lease_acquire-1.lua). `epoch` stays, so the next holder's is higher.
-- Returns 1 when released, 0 when the lease is not held so (nothing changed).
local h = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if not h[1] or h[1] ~= ARGV[1] or tonumber(h[2] or '0') ~= tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], 'owner', 'until')
redis.call('DEL', KEYS[1] .. ':gate:' .. h[2])
return 1
