'use strict';
// The Node side of the cross-language tests (run by run_interop.sh, see CMakeLists.txt):
//
//   node interop.js publish TOPIC N [--old-attempt] [--corrupt blob|amount|header]
//   node interop.js consume TOPIC GROUP N
//   node interop.js retry-fail TOPIC GROUP N
//   node interop.js retry-verify TOPIC GROUP
//
// Messages are those of interop_sample.proto's specification, built here independently of the
// C++ peer. Environment: STREAMQ_REDIS_URL, INTEROP_ENVELOPE_PROTO, INTEROP_SAMPLE_PROTO.
// Exit status: 0 all checks passed, 1 a content or protocol check failed (each one printed),
// 2 anything else (usage, Redis unreachable, timeout).

const Redis = require('ioredis');
const protobuf = require('protobufjs');
const wire = require('./wire');

const Long = protobuf.util.Long;
const SAMPLE_TYPE = 'streamq.interop.v1.Sample';
const RETRY_DELAY_MS = 300;
const READ_LIMIT_MS = 10000;

const { Envelope, root } = wire.loadEnvelopeTypes(
  process.env.INTEROP_ENVELOPE_PROTO, process.env.INTEROP_SAMPLE_PROTO);
const Sample = root.lookupType(SAMPLE_TYPE);

// --- interop_sample.proto's specification --------------------------------------------------

function sampleOf(i) {
  const blob = Buffer.alloc(256 + i);
  for (let k = 0; k < blob.length; ++k) blob[k] = (37 * k + i) % 256;
  const tags = [];
  for (let k = 0; k <= i % 3; ++k) tags.push(`tag-${k}-ü`);
  return {
    index: i,
    text: `Zażółć gęślą jaźń — 東京 🚀 #${i}`,
    blob,
    amount: Long.fromString('-9007199254740993').subtract(i),
    big: Long.fromString('18446744073709551615', true).subtract(i),
    tags,
    attributes: { kind: `sample-${i}`, 'ключ': `значение-${i}` },
    flag: i % 2 === 1,
  };
}

// The Envelope of message i, payload aside.
function envelopeOf(i, producerId, oldAttempt) {
  return {
    message_id: `msg-${i}`,
    type: SAMPLE_TYPE,
    created_at_unix_ms: Long.fromNumber(1700000000000 + i),
    attempt: oldAttempt && i === 1 ? 2 : 0,
    headers: { 'correlation-id': `corr-${i}`, 'x-note': `ünïcødé ✓ ${i}` },
    schema_version: 2,
    idempotency_key: i % 2 === 0 ? `key-${i}` : '',
    partition_key: `part-${i % 3}`,
    sequence: Long.fromNumber(i === 0 ? 1 : i + 2, true),
    producer_id: producerId,
  };
}

// --- comparing -----------------------------------------------------------------------------

const CANONICAL = { longs: String, bytes: String, defaults: true, arrays: true, objects: true };

function sorted(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
}

function shorten(text) {
  const chars = [...text];
  return chars.length <= 100 ? text : `${chars.slice(0, 100).join('')}... (${chars.length} characters)`;
}

// Every field of `type` in `actual` (a decoded message) against `expected` (a plain object);
// each difference is reported as "<what>.<field>: got ..., expected ...".
function compare(type, actual, expected, what, skip, problems) {
  const got = type.toObject(actual, CANONICAL);
  const want = type.toObject(type.fromObject(expected), CANONICAL);
  for (const field of Object.keys(type.fields)) {
    if (skip.includes(field)) continue;
    const a = JSON.stringify(sorted(got[field]));
    const b = JSON.stringify(sorted(want[field]));
    if (a !== b) problems.push(`${what}.${field}: got ${shorten(a)}, expected ${shorten(b)}`);
  }
}

// Section 14: streamq's publishers write a W3C traceparent (version 00, lowercase hex, neither
// ID all zeros) into the headers; a producer that writes none has none added on the way. It
// is checked here and then taken out of `envelope`, whose other headers are compared.
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
function checkTraceparent(envelope, expected, what, problems) {
  const traceparent = envelope.headers ? envelope.headers.traceparent : undefined;
  if (expected && !TRACEPARENT.test(traceparent || '')) {
    problems.push(`${what}: traceparent ${traceparent}, expected a valid W3C one`);
  } else if (!expected && traceparent !== undefined) {
    problems.push(`${what}: traceparent ${traceparent} added to a message published without one`);
  }
  if (traceparent !== undefined) delete envelope.headers.traceparent;
}

// --- commands ------------------------------------------------------------------------------

async function publishAll(redis, topic, n, flags) {
  const oldAttempt = flags.includes('--old-attempt');
  const corrupt = flags.includes('--corrupt') ? flags[flags.indexOf('--corrupt') + 1] : '';
  if (!['', 'blob', 'amount', 'header'].includes(corrupt)) throw new Error(`cannot corrupt ${corrupt}`);
  const problems = [];
  let sequence = 0;
  const publishOne = async (i) => {
    const sample = sampleOf(i);
    const meta = envelopeOf(i, 'interop-node', oldAttempt);
    if (i === 3 && corrupt === 'blob') sample.blob[100] ^= 0x01;
    if (i === 3 && corrupt === 'amount') sample.amount = sample.amount.add(1);
    if (i === 3 && corrupt === 'header') meta.headers['x-note'] = 'unicode ✓ 3';
    // Section 7 step 2, and section 4's `sequence`: one number per publish sent.
    sequence += 1;
    const envelope = Envelope.fromObject({
      ...meta,
      payload: Sample.encode(Sample.fromObject(sample)).finish(),
      sequence: Long.fromNumber(sequence, true),
    });
    const bytes = Buffer.from(Envelope.encode(envelope).finish());
    // Readers accept any field order and ignore unknown fields (section 3, rule 4).
    const fieldOrder = i === 1 ? (e) => ['e', e, 'v', '1']
      : i === 3 ? (e) => ['v', '1', 'x-interop', 'ignored by readers', 'e', e] : undefined;
    return wire.publish(redis, topic, bytes, { idempotencyKey: meta.idempotency_key, fieldOrder });
  };
  const first = await publishOne(0);
  const again = await publishOne(0);
  if (!again.duplicate || again.id !== first.id) {
    problems.push(`second publish of key-0: ${JSON.stringify(again)}, expected a duplicate of ${first.id}`);
  }
  for (let i = 1; i < n; ++i) await publishOne(i);
  return problems;
}

// Reads until `n` entries came or READ_LIMIT_MS passed; then one more short read must be empty.
async function readAll(reader, topic, group, consumer, n, problems) {
  const entries = [];
  const giveUp = Date.now() + READ_LIMIT_MS;
  while (entries.length < n && Date.now() < giveUp) {
    entries.push(...await wire.readGroup(reader, topic, group, consumer, n - entries.length, 200));
  }
  if (entries.length < n) problems.push(`read ${entries.length} entries of ${n}`);
  const extra = await wire.readGroup(reader, topic, group, consumer, 10, 100);
  if (extra.length > 0) problems.push(`${extra.length} entries more than the ${n} expected`);
  return entries;
}

// Decodes and checks each entry against the specification; returns {index -> entry}.
async function checkEntries(redis, topic, group, consumer, entries, producerId, oldAttempt, problems) {
  const byIndex = new Map();
  for (const entry of entries) {
    let decoded;
    try {
      decoded = wire.decodeEntry(Envelope, Sample, entry.fields);
    } catch (e) {
      problems.push(`entry ${entry.id}: ${e.code || ''} ${e.message}`);
      continue;
    }
    const i = decoded.payload.index;
    if (byIndex.has(i)) problems.push(`message ${i} delivered twice`);
    byIndex.set(i, { ...entry, ...decoded });
    compare(Sample, decoded.payload, sampleOf(i), `message ${i} payload`, [], problems);
    checkTraceparent(decoded.envelope, producerId === 'interop-cpp', `message ${i}`, problems);
    compare(Envelope, decoded.envelope, envelopeOf(i, producerId, oldAttempt), `message ${i} envelope`,
      ['payload'], problems);
    // Section 8 step 4: first delivery, so the attempt number is the envelope's attempt.
    const pending = await wire.pendingEntry(redis, topic, group, entry.id);
    if (!pending || pending.owner !== consumer || pending.deliveries !== 1) {
      problems.push(`message ${i}: pending ${JSON.stringify(pending)}, expected owner ${consumer}, 1 delivery`);
    } else if (wire.attemptOf(decoded.envelope, pending.deliveries) !== (oldAttempt && i === 1 ? 2 : 0)) {
      problems.push(`message ${i}: attempt number ${wire.attemptOf(decoded.envelope, pending.deliveries)}`);
    }
  }
  return byIndex;
}

// Joins `group` (from the stream's start) as `consumer`, reads the n messages and checks them.
async function readAndCheck(redis, reader, topic, group, consumer, n, producerId, oldAttempt) {
  const problems = [];
  await wire.createGroup(redis, topic, group, '0');
  const entries = await readAll(reader, topic, group, consumer, n, problems);
  const byIndex = await checkEntries(redis, topic, group, consumer, entries, producerId, oldAttempt, problems);
  return { problems, entries, byIndex };
}

async function serverMs(redis) {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

async function pendingCount(redis, topic, group) {
  const [count] = await redis.xpending(wire.topicKeys(topic).stream, group);
  return count;
}

async function consume(redis, reader, topic, group, n) {
  const keys = wire.topicKeys(topic);
  const { problems, entries, byIndex } =
    await readAndCheck(redis, reader, topic, group, 'node-reader', n, 'interop-cpp', false);
  // Section 3: streamq writes exactly `v` then `e`.
  for (const { id, fields } of entries) {
    const names = fields.filter((_, k) => k % 2 === 0).map((f) => f.toString('latin1'));
    if (names.join(',') !== 'v,e') problems.push(`entry ${id}: fields ${names}, expected v,e`);
  }
  await wire.ack(redis, topic, group, entries.map((e) => e.id));
  const stillPending = await pendingCount(redis, topic, group);
  if (stillPending !== 0) problems.push(`${stillPending} entries still pending after XACK`);
  // Section 10: the dedup key holds the first entry's ID; the repeat of message 0 was counted.
  for (let i = 0; i < n; i += 2) {
    const stored = await redis.get(keys.dedup(`key-${i}`));
    const entry = byIndex.get(i);
    if (!entry || stored !== entry.id) problems.push(`dedup key key-${i} holds ${stored}`);
  }
  const suppressed = await redis.hget(keys.meta, 'duplicates_suppressed');
  if (suppressed !== '1') problems.push(`duplicates_suppressed is ${suppressed}, expected 1`);
  const length = await redis.xlen(keys.stream);
  if (length !== n) problems.push(`stream length ${length}, expected ${n}`);
  return problems;
}

// Acks the even messages and fails the odd ones into the group's retry set (section 8 step 6).
async function retryFail(redis, reader, topic, group, n) {
  const keys = wire.topicKeys(topic);
  const consumer = 'node-failing';
  const { problems, byIndex } =
    await readAndCheck(redis, reader, topic, group, consumer, n, 'interop-node', true);
  const even = [...byIndex].filter(([i]) => i % 2 === 0).map(([, e]) => e.id);
  const odd = [...byIndex].filter(([i]) => i % 2 === 1).map(([, e]) => e.id);
  await wire.ack(redis, topic, group, even);
  if (odd.length > 0 && await wire.scheduleRetry(redis, topic, group, 'node-impostor', odd[0], 0)) {
    problems.push('a consumer that does not own the entry scheduled its retry');
  }
  // Due at the server's TIME of scheduling + the delay (section 2's retry set).
  const before = await serverMs(redis);
  for (const id of odd) {
    if (!await wire.scheduleRetry(redis, topic, group, consumer, id, RETRY_DELAY_MS)) {
      problems.push(`retry of ${id} not scheduled`);
    }
  }
  const after = await serverMs(redis);
  for (const id of odd) {
    const due = Number(await redis.zscore(keys.retry(group), id));
    if (!(due >= before + RETRY_DELAY_MS && due <= after + RETRY_DELAY_MS)) {
      problems.push(`retry of ${id} due at ${due}, scheduled between ${before} and ${after} + ${RETRY_DELAY_MS} ms`);
    }
  }
  const pending = await pendingCount(redis, topic, group);
  if (pending !== odd.length) problems.push(`${pending} pending, expected the ${odd.length} failed ones`);
  return problems;
}

// After the C++ consumer ran the retries: nothing pending, nothing waiting.
async function retryVerify(redis, topic, group) {
  const problems = [];
  const pending = await pendingCount(redis, topic, group);
  if (pending !== 0) problems.push(`${pending} entries still pending`);
  const waiting = await redis.zcard(wire.topicKeys(topic).retry(group));
  if (waiting !== 0) problems.push(`${waiting} retries still waiting`);
  return problems;
}

async function main(argv) {
  const [command, topic, ...rest] = argv;
  const redis = new Redis(process.env.STREAMQ_REDIS_URL, { maxRetriesPerRequest: 1 });
  const reader = redis.duplicate();  // section 8 step 2: blocking reads on their own connection
  wire.defineScripts(redis);
  try {
    switch (command) {
      case 'publish': return await publishAll(redis, topic, Number(rest[0]), rest.slice(1));
      case 'consume': return await consume(redis, reader, topic, rest[0], Number(rest[1]));
      case 'retry-fail': return await retryFail(redis, reader, topic, rest[0], Number(rest[1]));
      case 'retry-verify': return await retryVerify(redis, topic, rest[0]);
      default: throw new Error(`unknown command ${command}`);
    }
  } finally {
    reader.disconnect();
    redis.disconnect();
  }
}

const limit = setTimeout(() => {
  console.error('interop.js: timed out');
  process.exit(2);
}, 30000);
main(process.argv.slice(2)).then((problems) => {
  clearTimeout(limit);
  for (const p of problems) console.error(`MISMATCH ${p}`);
  console.log(`interop.js ${process.argv[2]}: ${problems.length === 0 ? 'OK' : `${problems.length} problems`}`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}, (e) => {
  clearTimeout(limit);
  console.error(`interop.js ${process.argv[2]}: ${e.stack || e}`);
  process.exitCode = 2;
});
