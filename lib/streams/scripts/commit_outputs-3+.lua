-- Effectively-once commit (docs/effectively-once.md): writes a handler's outputs, records its
-- input as processed and acknowledges the input, in one step, only while this consumer owns
-- the input (and, on a partition, holds the lease with the epoch it had).
-- KEYS[1] input stream, KEYS[2] the group's processed set, KEYS[3] the group's outbox stream;
-- KEYS[4] the partition's lease hash when ARGV[6] is not empty; then one key per direct
-- output: the stream of its topic, in the input's slot.
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] input entry ID, ARGV[4] the input's message key,
-- ARGV[5] remember_for ms, ARGV[6] lease owner ('' unfenced), ARGV[7] epoch, ARGV[8] the
-- number D of direct outputs, ARGV[9..11] the entry's version field, version and envelope
-- field; then D envelopes (one per direct key, in order); then per outbox output its topic and
-- its envelope; its outbox entry is {t = topic, e = envelope, s = input entry ID}.
-- Returns {1, D, outbox entries}; {0} (nothing written) when the input is not pending on
-- ARGV[2] (another consumer took it over, or it was acknowledged: its owner commits); {2}
-- when the message key is recorded already, within the retention (a copy of the message that
-- ran at the same time committed first): the input is acknowledged, no output written; {-1}
-- (nothing written) when the lease names another owner or epoch.
local first_direct = 4
if ARGV[6] ~= '' then
  local lease = redis.call('HMGET', KEYS[4], 'owner', 'epoch')
  if lease[1] ~= ARGV[6] or lease[2] ~= ARGV[7] then return {-1} end
  first_direct = 5
end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)[1]
if not p or p[2] ~= ARGV[2] then return {0} end
-- Redis keeps what a script wrote before an error: every check that can fail a write comes
-- first, with reads only (maxmemory refuses the first write, before anything is written).
local wrongtype = 'WRONGTYPE Operation against a key holding the wrong kind of value'
local function usable(key, kind)
  local t = redis.call('TYPE', key)['ok']
  return t == 'none' or t == kind
end
if not usable(KEYS[2], 'zset') or not usable(KEYS[3], 'stream') then
  return redis.error_reply(wrongtype)
end
for k = first_direct, #KEYS do
  if not usable(KEYS[k], 'stream') then return redis.error_reply(wrongtype) end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local recorded = redis.call('ZSCORE', KEYS[2], ARGV[4])
if recorded and tonumber(recorded) > now - tonumber(ARGV[5]) then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  return {2}
end
local direct = tonumber(ARGV[8])
local arg = 12
for k = first_direct, first_direct + direct - 1 do
  redis.call('XADD', KEYS[k], '*', ARGV[9], ARGV[10], ARGV[11], ARGV[arg])
  arg = arg + 1
end
local queued = 0
while arg < #ARGV do
  redis.call('XADD', KEYS[3], '*', 't', ARGV[arg], 'e', ARGV[arg + 1], 's', ARGV[3])
  queued = queued + 1
  arg = arg + 2
end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return {1, direct, queued}
