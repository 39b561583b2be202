-- KEYS[1] the dead-letter stream, KEYS[2] the topic stream, ARGV[1] the dead letter's ID,
-- ARGV[2..] the fields of the topic entry. Adds the entry and deletes the dead letter only if
-- the dead letter still exists (else returns ""): two concurrent republishes add it once. XADD
-- runs first, so a refused XADD (e.g. OOM) leaves the dead letter in place.
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return '' end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
