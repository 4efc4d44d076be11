// Telling people, as each process that sees an event does it: the event is queued in the state
// DB at once (a few ms, never a network wait), then delivered in the background by this process,
// and what is left is delivered later by whoever runs next (the daemon on its timer, or the next
// CLI run). A deploy or a check never waits on a receiver.
import type { CheckReport } from "../check/run-checks.js";
import type { AppConfig } from "../config/schema.js";
import type { SyncResult } from "../deploy/result.js";
import type { Logger } from "../log.js";
import { appLayout, readLiveRelease } from "../release/layout.js";
import { openStateDb, type StateDb } from "../state/state-db.js";
import { noteVerdict } from "./check-alerts.js";
import { deliverDue } from "./deliver.js";
import { type NotifyEvent, promotionEvent, syncEvent } from "./event.js";
import { enqueue } from "./queue.js";
import type { NotifyTarget } from "./targets.js";

// How long a CLI run waits at its end for its notifications: one attempt's bound, and a margin.
export const NOTIFY_FLUSH_MS = 5_500;

// A pass of deliveries claims nothing new after this long (the daemon starts one every 5 s).
const PASS_MS = 30_000;

export class Notifications {
  private db: StateDb | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly abort = new AbortController();
  private queued = false;

  constructor(
    readonly targets: NotifyTarget[],
    private readonly log: Logger,
    // The daemon hands in its own connection (kept open by close()); a CLI run opens one of its
    // own when it has something to say.
    private readonly shared?: StateDb,
  ) {}

  get enabled(): boolean {
    return this.targets.length > 0;
  }

  // A sync ended: deployed, rolled back, or failed (a no-op or an unreachable remote tells no one).
  // A promotion push that did not land is told as well (promotion-failed), after the deploy.
  syncFinished(
    result: Pick<SyncResult, "app" | "revision" | "message" | "promotion"> & { outcome: string },
  ): void {
    if (!this.enabled) return;
    this.guard(() => {
      const db = this.connection();
      const failure = result.outcome === "deployed" ? undefined : failedStep(db, result.app);
      const event = syncEvent(result, failure);
      if (event) this.queue(db, this.targets, event);
      const promotion = promotionEvent(result);
      if (promotion) this.queue(db, this.targets, promotion);
    });
  }

  // A check ended: tell of a change to or from critical, or remind.
  async checkFinished(app: AppConfig, report: CheckReport): Promise<void> {
    if (!this.enabled) return;
    const revision = (await readLiveRelease(appLayout(app)).catch(() => undefined))?.revision;
    this.guard(() => {
      const db = this.connection();
      // One transaction: `agent check` and the daemon's schedule judging at the same moment must
      // not both see the change and both tell it.
      db.transaction(() => {
        const decision = noteVerdict(db, this.targets, report, revision ?? null);
        if (decision) this.queue(db, decision.targets, decision.event);
      }).immediate();
    });
  }

  // Queue one event for the given targets and start delivering.
  private queue(db: StateDb, targets: NotifyTarget[], event: NotifyEvent): void {
    const { queued, dropped } = enqueue(db, targets, event);
    if (dropped > 0) {
      this.log.warn({ dropped }, "notification queue full: the oldest notifications were dropped");
    }
    if (queued === 0) return;
    this.queued = true;
    this.log.info({ event: event.event, app: event.app, targets: queued }, "notification queued");
    this.deliver();
  }

  // Deliver what is due, in the background. One pass at a time per process: a request for another
  // while one runs is folded into one more pass after it. Each pass ends by its deadline.
  deliver(ms = PASS_MS): Promise<void> {
    if (!this.enabled || this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const pass = async () => {
      do {
        this.again = false;
        await deliverDue(this.connection(), this.targets, this.log, {
          deadline: Date.now() + ms,
          signal: this.abort.signal,
        }).catch((error: unknown) =>
          this.log.warn({ err: error }, "notifications not delivered; they stay queued"),
        );
      } while (this.again && !this.closed);
    };
    this.running = pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  // Before a CLI run exits: give what it queued up to `ms` to go out; whatever does not stays
  // queued for the daemon or the next run.
  async flush(ms: number): Promise<void> {
    if (!this.queued) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.deliver(ms),
      new Promise((r) => {
        timer = setTimeout(r, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  // Stop: posts in flight are aborted (they stay queued, claimed for at most 15 s) and the pass
  // is waited for, so no row is marked after the DB is closed, and a CLI run exits at once.
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.running;
    if (!this.shared) this.db?.close();
    this.db = undefined;
  }

  private connection(): StateDb {
    this.db ??= this.shared ?? openStateDb();
    return this.db;
  }

  // Telling people must never fail a deploy or a check: a state DB that cannot be written is
  // logged, and the command goes on.
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.warn({ err: error }, "notification not queued");
    }
  }
}

// The step that failed in the app's newest deployment and its error, as the state DB has them.
function failedStep(db: StateDb, app: string): { step: string | null; error: string | null } {
  const row = db
    .prepare(
      `SELECT d.error AS error,
              (SELECT s.step FROM deployment_steps s WHERE s.deployment_id = d.id AND s.outcome = 'failed' ORDER BY s.rowid LIMIT 1) AS step
         FROM deployments d WHERE d.app = ? ORDER BY d.id DESC LIMIT 1`,
    )
    .get(app) as { error: string | null; step: string | null } | undefined;
  return { step: row?.step ?? null, error: row?.error ?? null };
}
