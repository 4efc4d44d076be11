// One sync of one app, DESIGN.md "Sync, step by step" 1–3: lock, fetch, compare; then the app's
// strategy (src/strategies/) runs steps 4–9 for the fetched commit.
import type { AppConfig } from "../config/schema.js";
import { type EventSink, ignoreEvents } from "../deploy/events.js";
import type { Interruption } from "../deploy/interruption.js";
import { openRun } from "../deploy/open-run.js";
import { rememberResult, type SyncResult } from "../deploy/result.js";
import { type AppSession, openAppSession } from "../deploy/session.js";
import { shortSha } from "../deploy/step-names.js";
import { ExitCode } from "../errors.js";
import { formatDuration } from "../output/table.js";
import { promoteIfDue } from "../promote/promote.js";
import { readLiveRelease } from "../release/layout.js";
import { recordSource } from "../state/sources.js";
import { type FetchedTarget, fetchTarget } from "../steps/fetch.js";
import { strategyFor } from "../strategies/strategy.js";
import { assertTrusted, type TrustedTarget, UntrustedCommitError } from "../trust/trust-target.js";
import { commitRefused } from "./refused.js";
import { remoteUnreachable } from "./unreachable.js";

export type { SyncOutcome, SyncResult } from "../deploy/result.js";

export interface SyncOptions {
  // Deploy this commit, tag or branch instead of the configured branch head.
  ref?: string;
  // Boot mode: an unreachable remote is a warning (exit 0), never a failed boot.
  boot?: boolean;
  // Recorded in the state DB: cli, boot, poll, api.
  trigger?: string;
  // Who watches the run's events (a terminal, the daemon's STATUS=); nobody by default.
  watcher?: EventSink;
  // A CLI run's signals (Ctrl-C, hang-up): wind down cleanly. The daemon's syncs have none.
  interruption?: Interruption;
}

// Sync one app. Throws LockHeldError (exit 75) when another run holds the app.
export async function syncApp(app: AppConfig, options: SyncOptions = {}): Promise<SyncResult> {
  const watcher = options.watcher ?? ignoreEvents;
  const trigger = options.trigger ?? (options.boot ? "boot" : "cli");
  // 1. One sync, rollback, restore or backup of an app at a time. A sync that died midway
  // (power cut, kill -9) is resolved first, and its debris swept up.
  const session = await openAppSession(
    app,
    options.boot ? "sync --boot" : "sync",
    watcher,
    options.interruption,
  );
  const { layout, db, log } = session;
  try {
    if (!session.healthy) {
      return rememberResult(db, {
        app: app.name,
        code: ExitCode.rollbackFailed,
        outcome: "failed",
      });
    }
    await session.assertTrustedLayout();
    // 2. Fetch. An unreachable or hanging remote leaves the live release running.
    const live = await readLiveRelease(layout);
    const fetchStarted = new Date();
    let target: FetchedTarget;
    try {
      target = await fetchTarget(app, layout, options.ref, log, live?.revision);
    } catch (error) {
      const at = { error, fetchStarted, trigger, boot: !!options.boot };
      return rememberResult(db, remoteUnreachable(session, at));
    }
    const fetchMs = Date.now() - fetchStarted.getTime();
    // 3. Already live: a no-op sync costs this one fetch and nothing else (but a promotion of
    // the live commit that has not landed yet is tried again).
    if (live?.revision === target.sha) {
      const text = `${app.name}: ${shortSha(target.sha)} (${target.ref}) is live; fetch ${formatDuration(fetchMs)}`;
      watcher({ type: "said", app: app.name, text });
      return rememberResult(db, {
        app: app.name,
        code: ExitCode.ok,
        outcome: "noop",
        revision: target.sha,
        ...(await promotionOf(session, target.sha)),
      });
    }
    // Only a commit that descends from the live one (or one the operator named) and, with
    // allowed_signers, one signed by an allowed key is deployed.
    let trusted: TrustedTarget;
    try {
      trusted = await assertTrusted(app, layout, db, target, live, options.ref !== undefined);
    } catch (error) {
      if (!(error instanceof UntrustedCommitError)) throw error;
      const at = { sha: target.sha, message: error.message, fetchStarted, fetchMs, trigger };
      return rememberResult(db, commitRefused(session, { ...at, fromRelease: live?.name }));
    }
    const at = { target, live, trigger, fetchStarted, fetchMs };
    const strategy = await strategyFor(app);
    const run = openRun(session, at);
    recordSource(db, run.id, trusted.source, trusted.signer);
    const result = await strategy.deploy(run);
    // Only a verified deploy is promoted: never a rolled-back or failed one.
    const promotion = result.outcome === "deployed" ? await promotionOf(session, run.sha) : {};
    return rememberResult(db, { ...result, ...promotion });
  } finally {
    await session.close();
  }
}

// The promotion of the live commit when one was due, as the sync's result carries it.
async function promotionOf(
  session: AppSession,
  revision: string,
): Promise<Pick<SyncResult, "promotion">> {
  const promotion = await promoteIfDue(session, revision);
  if (!promotion) return {};
  const { branch, outcome, message, repeated } = promotion;
  return { promotion: { branch, outcome, message, repeated } };
}
