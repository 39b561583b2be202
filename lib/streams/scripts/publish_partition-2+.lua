-- publish_partition: publish_batch-2+.lua for one partition of a partitioned topic, refused
-- when the partition has been cut for a growth the publisher did not route with: a publisher
-- that still uses an older count must not add a key's message behind the cut of the
-- partition the key is leaving (docs/partitions.md, "Growing a topic").
-- KEYS[1] the partition's stream, KEYS[2] its meta hash, KEYS[3..] the dedup keys of the keyed
-- entries in order; ARGV[1] the partition count the publisher routed with, ARGV[2] the dedup
-- window ms, ARGV[3..5] the version field, version and envelope field, then per entry "1"
-- (keyed: the next dedup key) or "0", and the envelope.
-- Returns {added, ID} per entry, flat (as publish_batch), or {-1, count}: the partition takes
-- only publishes routed with `count` (its meta field `partitions`); nothing written. A
-- partition without that field never went through a growth and takes any count.
local has = redis.call('HGET', KEYS[2], 'partitions')
if has and tonumber(has) ~= tonumber(ARGV[1]) then return {-1, tonumber(has)} end
local entries = (#ARGV - 5) / 2
-- Every entry or none. Redis does not undo what a script wrote before an error, so a batch
-- first checks, with reads only, all that could make a write fail (as publish_batch does). One
-- entry needs no check: the HGET above, its GET and its XADD fail before anything is written.
if entries > 1 then
  local wrongtype = 'WRONGTYPE Operation against a key holding the wrong kind of value'
  local function type_of(key) return redis.call('TYPE', key)['ok'] end
  local stream_type = type_of(KEYS[1])
  if stream_type ~= 'none' and stream_type ~= 'stream' then return redis.error_reply(wrongtype) end
  for i = 3, #KEYS do
    local t = type_of(KEYS[i])
    if t ~= 'none' and t ~= 'string' then return redis.error_reply(wrongtype) end
  end
  if stream_type == 'stream' then
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        local ms, seq = string.match(info[i + 1], '^(%d+)-(%d+)$')
        if ms == '18446744073709551615' and #seq == 20 and seq:sub(1, 11) == '18446744073' and
           709551615 - tonumber(seq:sub(12)) < entries then
          return redis.error_reply(
            'ERR The stream has exhausted the last possible ID, unable to add more items')
        end
      end
    end
  end
end
local out = {}
local next_key = 3
local duplicates = 0
for i = 6, #ARGV, 2 do
  local dedup = false
  if ARGV[i] == '1' then
    dedup = KEYS[next_key]
    next_key = next_key + 1
  end
  local first = dedup and redis.call('GET', dedup)
  if first and string.find(first, '-', 1, true) then
    duplicates = duplicates + 1
    out[#out + 1] = 0
    out[#out + 1] = first
  else
    local id = redis.call('XADD', KEYS[1], '*', ARGV[3], ARGV[4], ARGV[5], ARGV[i + 1])
    if dedup then redis.call('SET', dedup, id, 'PX', ARGV[2]) end
    out[#out + 1] = 1
    out[#out + 1] = id
  end
end
if duplicates > 0 then redis.call('HINCRBY', KEYS[2], 'duplicates_suppressed', duplicates) end
return out
