-- Trims a topic stream by length and age, sparing what a group has not yet acknowledged or read.
-- KEYS[1] stream. ARGV[1] max length (0: none), ARGV[2] max age ms ("0": none), measured by the
-- server's TIME (entry IDs are server times too), ARGV[3] "1" to trim unacknowledged entries
-- too. Returns the number of entries removed. With ARGV[4] "plan" it removes nothing and
-- returns {the cut the policy asks for, why ("max_length" or "max_age"), the cut after sparing
-- what groups still need, the group that held it back}, "" for each that does not apply
-- (streamq trim --dry-run): the same computation, so a dry run never disagrees with a trim.
local function older(a, b)  -- stream IDs "ms-seq": is a < b?
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local plan = ARGV[4] == 'plan'
if redis.call('EXISTS', KEYS[1]) == 0 then
  if plan then return {'', '', '', ''} end
  return 0
end
local cut = nil
local why = ''
local held_by = ''
local maxlen = tonumber(ARGV[1])
if maxlen > 0 then
  local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', maxlen)
  if #newest == maxlen then
    cut = newest[#newest][1]
    why = 'max_length'
  end
end
if ARGV[2] ~= '0' then
  local t = redis.call('TIME')
  local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2])
  local by_age = string.format('%d', oldest) .. '-0'
  if oldest > 0 and (cut == nil or older(cut, by_age)) then
    cut = by_age
    why = 'max_age'
  end
end
if cut == nil then
  if plan then return {'', '', '', ''} end
  return 0
end
local wanted = cut
if ARGV[3] ~= '1' then
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local info = {}
    for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
    if info['pending'] > 0 then
      local first = redis.call('XPENDING', KEYS[1], info['name'])[2]
      if first and older(first, cut) then
        cut = first
        held_by = info['name']
      end
    end
    -- entries after last-delivered-id are not yet read by this group
    local unread = redis.call('XRANGE', KEYS[1], '(' .. info['last-delivered-id'], '+', 'COUNT', 1)
    if #unread > 0 and older(unread[1][1], cut) then
      cut = unread[1][1]
      held_by = info['name']
    end
  end
end
if plan then return {wanted, why, cut, held_by} end
return redis.call('XTRIM', KEYS[1], 'MINID', cut)
