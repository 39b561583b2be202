-- Moves a pending entry to the group's dead-letter stream: adds the dead letter, acknowledges
-- the entry and forgets any retry of it, together.
-- KEYS[1] topic stream, KEYS[2] the group's dead-letter stream, KEYS[3] the group's retry set.
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry ID, ARGV[4..] the dead letter's fields.
-- Returns the dead letter's ID, or '' when ARGV[2] does not own the entry any more (nothing is
-- written: the new owner decides).
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)[1]
if not p or p[2] ~= ARGV[2] then return '' end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
return id
