-- Lists delayed tasks, soonest first.
-- KEYS[1] delayed, KEYS[2] delayed data; ARGV[1] limit. Returns {id, due ms, envelope, ...}.
local out = {}
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i]
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], ids[i]) or ''
end
return out
