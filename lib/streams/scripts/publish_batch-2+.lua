-- publish_batch: every entry or none. Redis does not undo what a script wrote before an error
-- (nor what EXEC ran before a failing command), so the script first checks all that could make
-- a write fail, with reads only; under maxmemory its first write is refused and nothing is
-- written. KEYS[1] stream, KEYS[2] meta, KEYS[3..] the dedup keys of the keyed entries in
-- order; ARGV[1] dedup window ms, ARGV[2..4] the version field, version and envelope field,
-- then per entry "1" (keyed: the next dedup key) or "0", and the envelope. Returns
-- {added, ID} per entry, flat.
local wrongtype = 'WRONGTYPE Operation against a key holding the wrong kind of value'
local function type_of(key) return redis.call('TYPE', key)['ok'] end
local stream_type = type_of(KEYS[1])
if (stream_type ~= 'none' and stream_type ~= 'stream') or
   (type_of(KEYS[2]) ~= 'none' and type_of(KEYS[2]) ~= 'hash') then
  return redis.error_reply(wrongtype)
end
for i = 3, #KEYS do
  local t = type_of(KEYS[i])
  if t ~= 'none' and t ~= 'string' then return redis.error_reply(wrongtype) end
end
-- '*' IDs run out only after an ID in the last millisecond, 2^64-1, which only an explicit
-- XADD can set: then fewer than 2^64-1 - seq more fit. Decimal strings, as Lua numbers are
-- doubles; any seq below 18446744073000000000 leaves room for more than a batch can hold.
if stream_type == 'stream' then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local ms, seq = string.match(info[i + 1], '^(%d+)-(%d+)$')
      if ms == '18446744073709551615' and #seq == 20 and seq:sub(1, 11) == '18446744073' and
         709551615 - tonumber(seq:sub(12)) < (#ARGV - 4) / 2 then
        return redis.error_reply(
          'ERR The stream has exhausted the last possible ID, unable to add more items')
      end
    end
  end
end
local out = {}
local next_key = 3
local duplicates = 0
for i = 5, #ARGV, 2 do
  local dedup = false
  if ARGV[i] == '1' then
    dedup = KEYS[next_key]
    next_key = next_key + 1
  end
  local first = dedup and redis.call('GET', dedup)
  -- A value without '-' is a wave-1 task ID, not an entry: it suppresses nothing (as in the
  -- single publish's script).
  if first and string.find(first, '-', 1, true) then
    duplicates = duplicates + 1
    out[#out + 1] = 0
    out[#out + 1] = first
  else
    local id = redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3], ARGV[4], ARGV[i + 1])
    if dedup then redis.call('SET', dedup, id, 'PX', ARGV[1]) end
    out[#out + 1] = 1
    out[#out + 1] = id
  end
end
if duplicates > 0 then redis.call('HINCRBY', KEYS[2], 'duplicates_suppressed', duplicates) end
return out
