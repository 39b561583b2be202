-- Creates or updates a recurring task.
-- KEYS[1] recurring hash; ARGV[1] name, ARGV[2] spec, ARGV[3] envelope template, ARGV[4]
-- policy. A changed spec restarts the history at the server's TIME. Returns 1 if the spec
-- changed (or the task is new), else 0.
local name = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], name .. '|env', ARGV[3], name .. '|policy', ARGV[4])
if redis.call('HGET', KEYS[1], name .. '|spec') ~= ARGV[2] then
  redis.call('HSET', KEYS[1], name .. '|spec', ARGV[2], name .. '|last', now)
  return 1
end
return 0
