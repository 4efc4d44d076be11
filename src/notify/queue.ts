// The durable queue of notifications in the state DB: a notification is written here before any
// attempt to send it, so neither a dead receiver nor a restart of the daemon loses it. Bounded:
// past MAX_QUEUED rows, or MAX_AGE_MS of age, the oldest are dropped and the caller logs how many.
import type { StateDb } from "../state/state-db.js";
import type { NotifyEvent } from "./event.js";
import { type NotifyTarget, wants } from "./targets.js";

export const MAX_QUEUED = 1000;
export const MAX_AGE_MS = 24 * 3_600_000;
// How long a claimed row is left to the process that claimed it: one attempt's 5 s, and margin.
const CLAIM_MS = 15_000;

export interface Queued {
  id: number;
  target: string;
  event: string;
  app: string;
  payload: string;
  attempts: number;
}

// Queue the event for every target that wants it; returns how many rows were added and how many
// old ones the bounds dropped.
export function enqueue(
  db: StateDb,
  targets: NotifyTarget[],
  event: NotifyEvent,
  now = Date.now(),
): { queued: number; dropped: number } {
  const insert = db.prepare(
    "INSERT INTO notifications (target, event, app, payload, created_ms, next_ms) VALUES (?, ?, ?, ?, ?, ?)",
  );
  let queued = 0;
  let dropped = 0;
  db.transaction(() => {
    for (const target of targets) {
      if (event.event !== "test" && !wants(target, event.event, event.app)) continue;
      insert.run(target.key, event.event, event.app, JSON.stringify(event), now, now);
      queued++;
    }
    if (queued > 0) dropped = prune(db, now);
  }).immediate();
  return { queued, dropped };
}

// Drop rows past the bounds, oldest first.
export function prune(db: StateDb, now = Date.now()): number {
  const old = db.prepare("DELETE FROM notifications WHERE created_ms < ?").run(now - MAX_AGE_MS);
  const over = db
    .prepare(
      "DELETE FROM notifications WHERE id NOT IN (SELECT id FROM notifications ORDER BY id DESC LIMIT ?)",
    )
    .run(MAX_QUEUED);
  return old.changes + over.changes;
}

// Claim the oldest due row for one of `targets` (a row of a target this process does not know,
// from a config being changed, is left to whoever knows it, and to the age bound), skipping the
// targets in `skip` (they failed in this pass). A row is claimed for CLAIM_MS, longer than one
// attempt: two senders never post the same notification at once.
export function claimNext(
  db: StateDb,
  targets: string[],
  skip: ReadonlySet<string>,
  now = Date.now(),
): Queued | undefined {
  const wanted = targets.filter((t) => !skip.has(t));
  if (wanted.length === 0) return undefined;
  return db
    .transaction(() => {
      const row = db
        .prepare(
          `SELECT id, target, event, app, payload, attempts FROM notifications
            WHERE next_ms <= ? AND claimed_until_ms <= ? AND target IN (${wanted.map(() => "?").join(", ")})
            ORDER BY id LIMIT 1`,
        )
        .get(now, now, ...wanted) as Queued | undefined;
      if (row) {
        db.prepare("UPDATE notifications SET claimed_until_ms = ? WHERE id = ?").run(
          now + CLAIM_MS,
          row.id,
        );
      }
      return row;
    })
    .immediate();
}

export function delivered(db: StateDb, id: number): void {
  db.prepare("DELETE FROM notifications WHERE id = ?").run(id);
}

// A failed attempt: try again after the backoff, the reason kept (never the URL).
export function failedAttempt(db: StateDb, row: Queued, error: string, now = Date.now()): number {
  const attempts = row.attempts + 1;
  const next = now + backoffMs(attempts);
  db.prepare(
    "UPDATE notifications SET attempts = ?, next_ms = ?, claimed_until_ms = 0, last_error = ? WHERE id = ?",
  ).run(attempts, next, error.slice(0, 500), row.id);
  return next;
}

// 5 s, 10 s, 20 s, ... at most 5 min between attempts: a receiver back after an hour gets the
// notification within five minutes of its return.
export function backoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

// When the next row is due (ms since the epoch), or undefined for an empty queue.
export function nextDue(db: StateDb): number | undefined {
  const row = db
    .prepare("SELECT MIN(MAX(next_ms, claimed_until_ms)) AS at FROM notifications")
    .get() as {
    at: number | null;
  };
  return row.at ?? undefined;
}
