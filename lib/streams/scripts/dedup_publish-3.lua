-- A keyed publish: the idempotency key's check and the XADD in one step, so that any number of
-- concurrent publishes of one key add one entry.
-- KEYS[1] stream, KEYS[2] dedup key, KEYS[3] meta; ARGV[1] window ms, ARGV[2..5] entry fields.
-- Adds the entry unless the key holds an entry ID; returns {1, new ID} or {0, first ID}. (A
-- task ID there, left by wave 1's scheduler, is overwritten.)
local first = redis.call('GET', KEYS[2])
-- Entry IDs contain '-'; a value without one is a task ID that a scheduler of wave 1 wrote
-- here, when tasks shared this namespace. It is no publish: it suppresses nothing, and this
-- publish's SET takes the key over.
if first and string.find(first, '-', 1, true) then
  redis.call('HINCRBY', KEYS[3], 'duplicates_suppressed', 1)
  return {0, first}
end
local id = redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {1, id}
