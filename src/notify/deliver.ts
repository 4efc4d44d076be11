// Send what is due in the queue: each row to its target, once, bounded per attempt; a failure is
// kept for a later attempt with backoff. Called by whichever process queued something (a CLI
// sync, `agent check`) and by the daemon on a timer, so the queue drains whoever is running.
import type { Logger } from "../log.js";
import { printable } from "../output/sanitize.js";
import type { StateDb } from "../state/state-db.js";
import type { NotifyEvent } from "./event.js";
import { payload } from "./payload.js";
import { postJson } from "./post.js";
import { claimNext, delivered, failedAttempt, prune } from "./queue.js";
import type { NotifyTarget } from "./targets.js";

// Posts in flight at once.
const PARALLEL = 4;

export interface Delivery {
  sent: number;
  failed: number;
  // Rows past the age or size bound, dropped before the pass.
  dropped: number;
}

export interface PassLimits {
  // Claim nothing new after this (ms since the epoch); a post in flight finishes within its 5 s.
  deadline: number;
  // Ends the pass at once: posts in flight are aborted and stay queued.
  signal?: AbortSignal;
}

// One pass: deliver due rows until none is due or the deadline passed. A target that fails is
// not tried again in the same pass, so one dead receiver does not hold the others' rows back.
export async function deliverDue(
  db: StateDb,
  targets: NotifyTarget[],
  log: Logger,
  limits: PassLimits,
): Promise<Delivery> {
  const result: Delivery = { sent: 0, failed: 0, dropped: prune(db) };
  if (result.dropped > 0) {
    log.warn(
      { dropped: result.dropped },
      "notifications older than 24 h or past the queue bound dropped",
    );
  }
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const keys = [...byKey.keys()];
  const failedTargets = new Set<string>();
  const lane = async () => {
    for (;;) {
      if (limits.signal?.aborted || Date.now() >= limits.deadline) return;
      const row = claimNext(db, keys, failedTargets);
      const target = row && byKey.get(row.target);
      if (!row || !target) return;
      const event = JSON.parse(row.payload) as NotifyEvent;
      const answer = await postJson(
        target.url,
        payload(target.format, event),
        undefined,
        limits.signal,
      );
      if (answer.ok) {
        delivered(db, row.id);
        result.sent++;
        log.info(
          { target: target.label, event: row.event, attempts: row.attempts + 1, ms: answer.ms },
          "notification sent",
        );
        continue;
      }
      failedTargets.add(row.target);
      const error = answer.error ?? "failed";
      const retryAt = failedAttempt(db, row, error);
      result.failed++;
      log.warn(
        {
          target: target.label,
          event: row.event,
          attempts: row.attempts + 1,
          error: printable(error, 200),
          retryAt: new Date(retryAt).toISOString(),
        },
        "notification not delivered; queued for another attempt",
      );
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  return result;
}
