-- Ownership check and refresh in one atomic step (see claims.hpp): resets the idle time of the
-- entries that ARGV[2] still owns. KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..]
-- entry IDs. Returns the IDs still owned (and refreshed).
local kept = {}
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if entry and entry[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
