-- Moves a pending entry to the group's dead-letter stream: adds the dead letter, acknowledges
-- the entry and forgets any retry of it, together.
-- KEYS[1] topic stream, KEYS[2] the group's dead-letter stream, KEYS[3] the group's retry set,
-- KEYS[4] (only for a partition's consumer) the partition's lease hash for the group.
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry ID; with KEYS[4], ARGV[4] the lease's owner
-- and ARGV[5] the epoch held; then the dead letter's fields.
-- Returns the dead letter's ID; '' when ARGV[2] does not own the entry any more (nothing is
-- written: the new owner decides); -1 (nothing written) when the lease names another owner or
-- epoch: a member that lost the partition cannot dead-letter what its successor answers for.
local fields = 4
if KEYS[4] then
  local lease = redis.call('HMGET', KEYS[4], 'owner', 'epoch')
  if lease[1] ~= ARGV[4] or lease[2] ~= ARGV[5] then return -1 end
  fields = 6
end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)[1]
if not p or p[2] ~= ARGV[2] then return '' end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
return id
