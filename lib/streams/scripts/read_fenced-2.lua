-- Reads new entries of a partition's stream for a member that holds the partition's lease
-- (partitioned_consumer): the lease's owner and epoch are checked in the same step as the
-- XREADGROUP. A plain XREADGROUP cannot be fenced: one a member wrote just before it was paused
-- past its lease reaches Redis after a successor took the partition, and puts entries the
-- successor never sees in the paused member's pending list, so that the successor runs a
-- key's later entries before its earlier one. Scripts cannot block, so the reader waits with a
-- plain XREAD from the tip this script returns when there is nothing new (that wait changes
-- nothing in Redis, fenced or not).
-- KEYS[1] the partition's stream, KEYS[2] its lease hash for the group (same slot);
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] count, ARGV[4] owner, ARGV[5] epoch held.
-- Returns -1 (nothing read) when the lease names another owner or epoch; XREADGROUP's reply
-- when it delivered entries; otherwise the ID of the stream's last entry ("0-0" when it has
-- none), after which any new entry comes.
local lease = redis.call('HMGET', KEYS[2], 'owner', 'epoch')
if lease[1] ~= ARGV[4] or lease[2] ~= ARGV[5] then return -1 end
local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
                        'STREAMS', KEYS[1], '>')
if read then return read end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then return last[1][1] end
return '0-0'
