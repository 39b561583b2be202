#pragma once
// The Lua scripts behind streams::scheduler (delayed and recurring tasks), idempotent
// publishing and once-only handling. Each touches keys of one topic only (one hash tag: Redis
// Cluster safe) and validates before its first write, so under maxmemory it is refused whole or
// runs whole. Each is a file lib/streams/scripts/<name>-<key count>.lua (dedup_publish-3,
// schedule-5, poll_scheduled-3, cancel_scheduled-2, list_scheduled-2, upsert_recurring-1,
// recurring_flag-1, fire_recurring-2, ack_processed-2), whose comment states its contract.

#include "script.hpp"

namespace streamq::streams::detail {

// KEYS[1] stream, KEYS[2] dedup key, KEYS[3] meta; ARGV[1] window ms, ARGV[2..5] entry
// fields. Adds the entry unless the key holds an entry ID; returns {1, new ID} or {0, first
// ID}. (A task ID there, left by wave 1's scheduler, is overwritten.)
const lua_script& dedup_publish_script();

// KEYS[1] delayed, KEYS[2] delayed data, KEYS[3] meta, KEYS[4] task dedup key, KEYS[5] the
// same key in the publisher's namespace, where wave 1 kept it (both KEYS[3] again when
// none); ARGV[1] due unix ms ("at") or delay ms ("in": from the server's TIME), ARGV[2]
// serialized envelope, ARGV[3] dedup window ms ("0": none), ARGV[4] "at" or "in".
// Returns {1, task ID, due ms, server now ms} or {0, the earlier task's ID, 0, now}.
const lua_script& schedule_script();

// KEYS[1] stream, KEYS[2] delayed, KEYS[3] delayed data; ARGV[1] batch, ARGV[2..4] the
// version field, version and envelope field. Moves due tasks (server clock) into the stream
// and returns {moved, next due ms or -1, server now ms}.
const lua_script& poll_script();

// KEYS[1] delayed, KEYS[2] delayed data; ARGV[1] task ID. Returns 1 if removed.
const lua_script& cancel_script();

// KEYS[1] delayed, KEYS[2] delayed data; ARGV[1] limit. Returns {id, due ms, envelope, ...}.
const lua_script& list_scheduled_script();

// KEYS[1] recurring hash; ARGV[1] name, ARGV[2] spec, ARGV[3] envelope template, ARGV[4]
// policy. A changed spec restarts the history at the server's TIME.
const lua_script& upsert_recurring_script();

// KEYS[1] recurring hash; ARGV[1] name, ARGV[2] "pause", "resume" or "remove". 1 if it exists.
const lua_script& recurring_flag_script();

// KEYS[1] recurring hash, KEYS[2] stream; ARGV[1] name, ARGV[2] spec the caller computed with,
// ARGV[3] occurrence ms, ARGV[4] "fire" or "skip", ARGV[5] envelope suffix, ARGV[6..8] the
// version field, version and envelope field. Returns 1 fired, 2 skipped, 0 already claimed,
// -1 paused, -2 the spec changed (or the task was removed).
const lua_script& fire_recurring_script();

// KEYS[1] processed set of a group, KEYS[2] stream; ARGV[1] group, ARGV[2] entry ID, ARGV[3]
// message key, ARGV[4] remember_for ms. Records the message as handled (server time) and
// acknowledges the entry together; forgets records older than remember_for.
const lua_script& ack_processed_script();

}  // namespace streamq::streams::detail
