-- Takes over pending entries of a consumer group for ARGV[2], counting the delivery.
-- KEYS[1] topic stream, KEYS[2] the group's retry set, KEYS[3] (only for a partition's
-- consumer) the partition's lease hash for the group, in the stream's slot.
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] minimum idle ms, ARGV[4] required owner ('' = any);
-- with KEYS[3], ARGV[5] the lease's owner and ARGV[6] the epoch held; then pairs of entry ID
-- and the delivery count XPENDING showed for it. Everything is
-- re-checked here, since it may have changed since: an entry is skipped when it is no longer
-- pending, has another owner than ARGV[4], is idle less than ARGV[3], waits in the retry set
-- (its retry is taken by take_due_retries), or was delivered again meanwhile (its count moved:
-- someone else took it, e.g. a due retry taken between the XPENDING and this script).
-- An entry whose data was trimmed or deleted is acknowledged and reported as lost.
-- Returns {claimed, lost}: claimed = {id, deliveries, fields, id, deliveries, fields, ...};
-- {-1} (nothing taken) when the lease names another owner or epoch: a member that lost the
-- partition (paused past its lease) cannot take entries its successor answers for.
local pairs_from = 5
if KEYS[3] then
  local lease = redis.call('HMGET', KEYS[3], 'owner', 'epoch')
  if lease[1] ~= ARGV[5] or lease[2] ~= ARGV[6] then return {-1} end
  pairs_from = 7
end
local claimed, lost = {}, {}
local min_idle = tonumber(ARGV[3])
for i = pairs_from, #ARGV - 1, 2 do
  local id = ARGV[i]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
  if p and (ARGV[4] == '' or p[2] == ARGV[4]) and p[3] >= min_idle
      and p[4] == tonumber(ARGV[i + 1]) and not redis.call('ZSCORE', KEYS[2], id) then
    local e = redis.call('XRANGE', KEYS[1], id, id)
    if #e == 0 then
      redis.call('XACK', KEYS[1], ARGV[1], id)
      lost[#lost + 1] = id
    else
      -- RETRYCOUNT with JUSTID: the delivery is counted, and no second copy of the fields.
      local deliveries = p[4] + 1
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', deliveries, 'JUSTID')
      claimed[#claimed + 1] = id
      claimed[#claimed + 1] = deliveries
      claimed[#claimed + 1] = e[1][2]
    end
  end
end
return {claimed, lost}
