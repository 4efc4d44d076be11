// Auto-update (`poll: 60s`): ask the remote for the branch head every period plus jitter and
// run a sync when it moved. One timer chain per app; the next poll is armed only after the
// previous one finished, so polls never pile up behind a slow remote or a long sync.
import type { AppConfig } from "../config/schema.js";
import { describeError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Notifications } from "../notify/notifications.js";
import { promotionRetryDue } from "../promote/promotion-due.js";
import { appLayout, readLiveRelease } from "../release/layout.js";
import type { StateDb } from "../state/state-db.js";
import { liveLockHolder } from "../system/lock.js";
import type { AppWork } from "./app-work.js";
import type { DaemonState } from "./daemon-state.js";
import { firstPollDelay, nextPollDelay } from "./jitter.js";
import { decidePoll } from "./poll-decision.js";
import { readPollMemory } from "./poll-memory.js";
import { remoteHead } from "./remote-head.js";
import { runSyncJob } from "./sync-job.js";

export interface PollerContext {
  db: StateDb;
  state: DaemonState;
  work: AppWork;
  log: Logger;
  // Tells people of outcomes (src/notify/); absent in tests that do not care.
  notifications?: Notifications;
}

export interface Poller {
  stop(): void;
}

// Start polling one app (its `poll` must be set).
export function startPoller(app: AppConfig, periodMs: number, ctx: PollerContext): Poller {
  const log = ctx.log.child({ app: app.name, trigger: "poll" });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // Only transitions are logged, so a remote that is down for a day is two lines, not 1440.
  let reachable = true;

  // The first poll comes at a random moment of the first period: hosts restarted together (a
  // fleet rebooted, a config rolled out) must not poll in lockstep ever after.
  const arm = (first = false) => {
    if (stopped) return;
    const delay = first ? firstPollDelay(periodMs) : nextPollDelay(periodMs);
    timer = setTimeout(() => void tick().finally(() => arm()), delay);
  };

  const tick = async () => {
    if (ctx.work.syncBusy(app.name) || (await liveLockHolder(app.name))) return;
    let head: string;
    try {
      head = await remoteHead(app);
    } catch (error) {
      if (reachable) log.warn({ error: describeError(error) }, "poll: remote unreachable");
      reachable = false;
      return;
    }
    if (!reachable) log.info("poll: remote reachable again");
    reachable = true;
    const live = (await readLiveRelease(appLayout(app)))?.revision;
    const decision = decidePoll({ head, live, ...readPollMemory(ctx.db, app.name) });
    if (!decision.sync) {
      if (decision.reason === "failed before") log.debug({ head }, "poll: head failed before");
      // The live commit's promotion has not landed: a sync (a no-op fetch) pushes it again.
      if (decision.reason !== "up to date") return;
      if (!promotionRetryDue(ctx.db, app, live, periodMs)) return;
      log.info({ live }, "poll: promotion of the live commit pending, syncing to push it");
    } else {
      log.info({ head, live, reason: decision.reason }, "poll: branch moved, syncing");
    }
    if (stopped) return;
    ctx.work.startSync(app.name, async () => {
      await runSyncJob(app, "poll", ctx, head);
    });
  };

  arm(true);
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
