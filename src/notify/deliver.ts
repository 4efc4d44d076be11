// Send what is due in the queue: each row to its target, once, bounded per attempt; a failure is
// kept for a later attempt with backoff. Called by whichever process queued something (a CLI
// sync, `agent check`) and by the daemon on a timer, so the queue drains whoever is running.
import type { Logger } from "../log.js";
import { printable } from "../output/sanitize.js";
import type { StateDb } from "../state/state-db.js";
import type { NotifyEvent } from "./event.js";
import { payload } from "./payload.js";
import { postJson } from "./post.js";
import { claimDue, delivered, dropOrphans, failedAttempt } from "./queue.js";
import type { NotifyTarget } from "./targets.js";

// Rows claimed at once; sent a few at a time, so one dead receiver does not hold the others.
const BATCH = 20;
const PARALLEL = 4;

export interface Delivery {
  sent: number;
  failed: number;
  dropped: number;
}

// Deliver every due row, batch after batch, until none is due or `deadline` (ms since the epoch)
// has passed.
export async function deliverDue(
  db: StateDb,
  targets: NotifyTarget[],
  log: Logger,
  deadline = Number.POSITIVE_INFINITY,
): Promise<Delivery> {
  const result: Delivery = { sent: 0, failed: 0, dropped: dropOrphans(db, targets) };
  if (result.dropped > 0) {
    log.warn({ dropped: result.dropped }, "notifications for targets no longer configured dropped");
  }
  const byKey = new Map(targets.map((t) => [t.key, t]));
  while (Date.now() < deadline) {
    const rows = claimDue(db, BATCH);
    if (rows.length === 0) break;
    let next = 0;
    const lane = async () => {
      while (next < rows.length) {
        const row = rows[next++];
        const target = row && byKey.get(row.target);
        if (!row || !target) continue;
        const event = JSON.parse(row.payload) as NotifyEvent;
        const answer = await postJson(target.url, payload(target.format, event));
        if (answer.ok) {
          delivered(db, row.id);
          result.sent++;
          log.info(
            { target: target.label, event: row.event, attempts: row.attempts + 1, ms: answer.ms },
            "notification sent",
          );
        } else {
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
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, rows.length) }, lane));
  }
  return result;
}
