-- Takes the group's retries that are due (server clock) for consumer ARGV[2].
-- KEYS[1] topic stream, KEYS[2] the group's retry set (member entry ID, score due ms), KEYS[3]
-- (only for a partition's consumer) the partition's lease hash for the group, in the stream's
-- slot.
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] most entries to take; with KEYS[3], ARGV[4] the
-- lease's owner and ARGV[5] the epoch held.
-- A due entry leaves the retry set; if it is still pending in the group it is claimed with its
-- delivery counted, if its data is gone it is acknowledged and reported as lost, and if it is
-- no longer pending (acknowledged meanwhile) it is forgotten.
-- Returns {now ms, next due ms or -1, claimed, lost}; claimed as in claim_entries. {-1}
-- (nothing taken) when the lease names another owner or epoch: a member that lost the
-- partition (paused past its lease) cannot take retries its successor answers for.
if KEYS[3] then
  local lease = redis.call('HMGET', KEYS[3], 'owner', 'epoch')
  if lease[1] ~= ARGV[4] or lease[2] ~= ARGV[5] then return {-1} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local claimed, lost = {}, {}
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
  if p then
    local e = redis.call('XRANGE', KEYS[1], id, id)
    if #e == 0 then
      redis.call('XACK', KEYS[1], ARGV[1], id)
      lost[#lost + 1] = id
    else
      local deliveries = p[4] + 1
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', deliveries, 'JUSTID')
      claimed[#claimed + 1] = id
      claimed[#claimed + 1] = deliveries
      claimed[#claimed + 1] = e[1][2]
    end
  end
end
local next_due = -1
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first == 2 then next_due = tonumber(first[2]) end
return {now, next_due, claimed, lost}
