'use strict';
// A foreign (non-C++) streamq client, written from docs/wire-format.md and
// proto/streamq/v1/envelope.proto alone: names and keys (sections 1-2), entries (3), the
// Envelope (4), producing (7, with the idempotency-key script of 10), consuming in a group (8:
// reading rules, attempt numbers, acks and the retry protocol). Section numbers below are the
// document's. Anything the C++ library does that this file had to guess is a gap in the doc.

const protobuf = require('protobufjs');

// Section 1.
const NAME = /^[A-Za-z0-9._-]{1,128}$/;

function checkName(what, name) {
  if (!NAME.test(name)) throw new Error(`invalid ${what} name ${JSON.stringify(name)}`);
  return name;
}

// Section 2.
function topicKeys(topic) {
  const prefix = `streamq:{${checkName('topic', topic)}}:`;
  return {
    stream: `${prefix}stream`,
    meta: `${prefix}meta`,
    dedup: (key) => `${prefix}dedup:${key}`,
    retry: (group) => `${prefix}retry:${checkName('group', group)}`,
  };
}

// Section 4, "Size".
const MAX_PAYLOAD_BYTES = 1024 * 1024;
const MAX_ENVELOPE_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024;

// Section 5's error codes, as far as a reader of entries needs them.
const errc = {
  message_too_large: 'streamq.streams:2',
  decode_failed: 'streamq.streams:3',
  unknown_envelope_version: 'streamq.streams:4',
  malformed_entry: 'streamq.streams:5',
};

class EntryError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Field names as the .proto spells them (keepCase), e.g. envelope.created_at_unix_ms.
function loadEnvelopeTypes(envelopeProto, ...otherProtos) {
  const root = new protobuf.Root().loadSync([envelopeProto, ...otherProtos], { keepCase: true });
  return { root, Envelope: root.lookupType('streamq.v1.Envelope') };
}

// Section 3: an entry's flat field list (Buffers) to its `e` bytes, by the four reading rules.
function envelopeBytesOf(fields) {
  if (fields.length % 2 !== 0) throw new EntryError(errc.malformed_entry, 'odd field list');
  const values = { v: [], e: [] };
  for (let k = 0; k < fields.length; k += 2) {
    const name = fields[k].toString('latin1');
    if (name in values) values[name].push(fields[k + 1]);  // others are ignored (rule 4)
  }
  if (values.v.length !== 1) throw new EntryError(errc.malformed_entry, `${values.v.length} v fields`);
  if (!values.v[0].equals(Buffer.from('1'))) {
    throw new EntryError(errc.unknown_envelope_version, `v is ${JSON.stringify(values.v[0].toString('latin1'))}`);
  }
  if (values.e.length !== 1) throw new EntryError(errc.malformed_entry, `${values.e.length} e fields`);
  if (values.e[0].length > MAX_ENVELOPE_BYTES) throw new EntryError(errc.message_too_large, 'envelope too large');
  return values.e[0];
}

// Sections 3 and 8 step 3: entry fields to {envelope, payload}, where `payload` is decoded as
// `PayloadType` after checking the envelope names it.
function decodeEntry(Envelope, PayloadType, fields) {
  const bytes = envelopeBytesOf(fields);
  let envelope;
  try {
    envelope = Envelope.decode(bytes);
  } catch (e) {
    throw new EntryError(errc.malformed_entry, `e does not parse: ${e.message}`);
  }
  if (envelope.payload.length > MAX_PAYLOAD_BYTES) throw new EntryError(errc.message_too_large, 'payload too large');
  const expectedType = PayloadType.fullName.replace(/^\./, '');
  if (envelope.type !== expectedType) {
    throw new EntryError(errc.decode_failed, `type ${JSON.stringify(envelope.type)}, expected ${expectedType}`);
  }
  let payload;
  try {
    payload = PayloadType.decode(envelope.payload);
  } catch (e) {
    throw new EntryError(errc.decode_failed, `payload does not parse: ${e.message}`);
  }
  return { envelope, payload };
}

// Section 10: the publish script of a message with an idempotency key. A value without '-' is
// a task ID from streamq's first release, not an entry ID: it is ignored (and replaced).
const PUBLISH_WITH_KEY = `
local previous = redis.call('GET', KEYS[2])
if previous and string.find(previous, '-', 1, true) then
  redis.call('HINCRBY', KEYS[3], 'duplicates_suppressed', 1)
  return {previous, 1}
end
local id = redis.call('XADD', KEYS[1], '*', 'v', '1', 'e', ARGV[2])
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {id, 0}`;

// Section 8 step 6: schedule a retry of an entry this consumer owns; 0 if it does not.
const SCHEDULE_RETRY = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #pending == 0 or pending[1][2] ~= ARGV[2] then return 0 end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[4]), ARGV[3])
return 1`;

function defineScripts(redis) {
  redis.defineCommand('streamqPublishWithKey', { numberOfKeys: 3, lua: PUBLISH_WITH_KEY });
  redis.defineCommand('streamqScheduleRetry', { numberOfKeys: 2, lua: SCHEDULE_RETRY });
}

const DEDUP_WINDOW_MS = 24 * 3600 * 1000;  // section 10's default window

// Section 7: XADD of an encoded Envelope; with an idempotency key, section 10's script.
// `fieldOrder` lets a test write other (legal) field lists: it maps (envelopeBytes) to the
// entry's field/value list. Returns {id, duplicate}.
async function publish(redis, topic, envelopeBytes, { idempotencyKey = '', fieldOrder } = {}) {
  if (envelopeBytes.length > MAX_ENVELOPE_BYTES) throw new Error('envelope over the size limit');
  const keys = topicKeys(topic);
  if (idempotencyKey !== '') {
    const [id, duplicate] = await redis.streamqPublishWithKey(
      keys.stream, keys.dedup(idempotencyKey), keys.meta, DEDUP_WINDOW_MS, envelopeBytes);
    return { id, duplicate: duplicate === 1 };
  }
  const fields = fieldOrder ? fieldOrder(envelopeBytes) : ['v', '1', 'e', envelopeBytes];
  return { id: await redis.xadd(keys.stream, '*', ...fields), duplicate: false };
}

// Section 8 step 1.
async function createGroup(redis, topic, group, start) {
  try {
    await redis.xgroup('CREATE', topicKeys(topic).stream, checkName('group', group), start, 'MKSTREAM');
  } catch (e) {
    if (!String(e.message).startsWith('BUSYGROUP')) throw e;
  }
}

// Section 8 step 2, on a connection of its own. Returns [{id, fields: [Buffer...]}].
async function readGroup(blockingRedis, topic, group, consumer, count, blockMs) {
  const reply = await blockingRedis.xreadgroupBuffer(
    'GROUP', group, checkName('consumer', consumer), 'COUNT', count, 'BLOCK', blockMs,
    'STREAMS', topicKeys(topic).stream, '>');
  if (reply === null) return [];
  return reply[0][1].map(([id, fields]) => ({ id: id.toString('latin1'), fields }));
}

// Section 8 step 4: owner and delivery count of one pending entry (null if not pending).
async function pendingEntry(redis, topic, group, id) {
  const reply = await redis.xpending(topicKeys(topic).stream, group, id, id, 1);
  if (reply.length === 0) return null;
  const [, owner, , deliveries] = reply[0];
  return { owner, deliveries: Number(deliveries) };
}

// Section 8 step 4: the attempt number of a delivery.
function attemptOf(envelope, deliveries) {
  return envelope.attempt + deliveries - 1;
}

// Section 8 step 5.
async function ack(redis, topic, group, ids) {
  if (ids.length === 0) return 0;
  return redis.xack(topicKeys(topic).stream, group, ...ids);
}

// Section 8 step 6. Returns true when scheduled, false when `consumer` does not own the entry.
async function scheduleRetry(redis, topic, group, consumer, id, delayMs) {
  const keys = topicKeys(topic);
  return (await redis.streamqScheduleRetry(keys.stream, keys.retry(group), group, consumer, id, delayMs)) === 1;
}

module.exports = {
  EntryError, errc, topicKeys, loadEnvelopeTypes, decodeEntry, defineScripts, publish,
  createGroup, readGroup, pendingEntry, attemptOf, ack, scheduleRetry,
};
