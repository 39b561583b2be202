-- Claims one occurrence of a recurring task, and publishes it unless it is skipped.
-- KEYS[1] recurring hash, KEYS[2] stream; ARGV[1] name, ARGV[2] spec the caller computed with,
-- ARGV[3] occurrence ms, ARGV[4] "fire" or "skip", ARGV[5] envelope suffix, ARGV[6..8] the
-- version field, version and envelope field. Returns 1 fired, 2 skipped, 0 already claimed,
-- -1 paused, -2 the spec changed (or the task was removed).
local name = ARGV[1]
if redis.call('HGET', KEYS[1], name .. '|spec') ~= ARGV[2] then return -2 end
if redis.call('HGET', KEYS[1], name .. '|paused') == '1' then return -1 end
local last = tonumber(redis.call('HGET', KEYS[1], name .. '|last') or '-1')
if tonumber(ARGV[3]) <= last then return 0 end
local template = redis.call('HGET', KEYS[1], name .. '|env') or ''
redis.call('HSET', KEYS[1], name .. '|last', ARGV[3])
if ARGV[4] ~= 'fire' then return 2 end
-- Protobuf merges concatenated messages field by field (the last scalar wins), so the
-- suffix gives this occurrence its own message_id and time without decoding the template.
redis.call('XADD', KEYS[2], '*', ARGV[6], ARGV[7], ARGV[8], template .. ARGV[5])
return 1
