-- Pauses, resumes or removes a recurring task.
-- KEYS[1] recurring hash; ARGV[1] name, ARGV[2] "pause", "resume" or "remove". Returns 1 if
-- the task exists, else 0 (and changes nothing).
local name = ARGV[1]
if redis.call('HEXISTS', KEYS[1], name .. '|spec') == 0 then return 0 end
if ARGV[2] == 'pause' then
  redis.call('HSET', KEYS[1], name .. '|paused', '1')
elseif ARGV[2] == 'resume' then
  redis.call('HDEL', KEYS[1], name .. '|paused')
else
  redis.call('HDEL', KEYS[1], name .. '|spec', name .. '|env', name .. '|policy',
             name .. '|last', name .. '|paused')
end
return 1
