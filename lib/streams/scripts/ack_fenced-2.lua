-- Acknowledges entries of a partition's stream for a member that holds the partition's lease
-- (partitioned_consumer): the lease's owner and epoch are checked in the same step as the
-- XACK, so a member that lost the partition (paused past its lease, then woken) cannot
-- acknowledge entries its successor now answers for.
-- KEYS[1] the partition's stream, KEYS[2] its lease hash for the group (same slot);
-- ARGV[1] group, ARGV[2] owner, ARGV[3] epoch held, ARGV[4..] entry IDs.
-- Returns XACK's count, or -1 (nothing acknowledged) when the lease names another owner or
-- epoch. An expired lease nobody took since still has this owner and epoch: acknowledging
-- then is safe (no other member can have run these entries).
local lease = redis.call('HMGET', KEYS[2], 'owner', 'epoch')
if lease[1] ~= ARGV[2] or lease[2] ~= ARGV[3] then return -1 end
return redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 4))
