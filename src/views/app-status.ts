// What `agent status` reports about one app: live release, branch, service, lock, last runs; for a
// blue-green app also which color serves and what the other one does.
import { lstat } from "node:fs/promises";
import type { AppConfig } from "../config/schema.js";
import { countCommitsBetween, resolveCommit } from "../git/revisions.js";
import { promotionDue } from "../promote/promotion-due.js";
import { appLayout, readLiveRelease } from "../release/layout.js";
import { recall } from "../state/app-memory.js";
import { type CheckRecord, listChecks } from "../state/check-records.js";
import { runningDeployments } from "../state/deployments.js";
import { lastPromotionOf, type PromotionRecord } from "../state/promotions.js";
import { liveSource } from "../state/sources.js";
import type { StateDb } from "../state/state-db.js";
import { holdPlaced } from "../steps/hold.js";
import { appPids } from "../steps/stop.js";
import { type LockHolder, liveLockHolder } from "../system/lock.js";
import { showUnit } from "../system/systemd.js";
import { readStrategyStatus, type StrategyStatus } from "./colors-status.js";
import { type DeploymentJson, recentDeployments } from "./deployment-view.js";

export type AppStatus = AppStatusFields & StrategyStatus;

interface AppStatusFields {
  app: string;
  live: { release: string; revision: string; since: string } | null;
  branch: { name: string; head: string | null; commitsAhead: number | null };
  service: { unit: string; active: string; sub: string; mainPid: number; processes: number };
  lock: LockHolder | null;
  // A start of the app waits until the hold is lifted (a deployment runs, or was interrupted).
  held: boolean;
  // A deployment marked running whose process is gone: the next sync recovers it.
  interrupted: number[];
  lastSync: Record<string, unknown> | null;
  lastDeployment: DeploymentJson | null;
  lastCheck: CheckRecord | null;
  // Who signed the live commit (with repo.allowed_signers), as verified when it was deployed.
  signer: string | null;
  // With `promote:`: the last push of the live commit to promote.branch, and whether one is due.
  promotion: {
    branch: string;
    due: boolean;
    last: PromotionRecord | null;
  } | null;
}

// Gather the status of an app; reads only, never waits on the app's lock.
export async function appStatus(app: AppConfig, db: StateDb): Promise<AppStatus> {
  const layout = appLayout(app);
  const live = await readLiveRelease(layout);
  const since = live ? (await lstat(layout.current)).mtime.toISOString() : "";
  const head = await resolveCommit(layout.repo, `refs/heads/${app.repo.branch}`);
  const ahead =
    head && live
      ? await countCommitsBetween(layout.repo, live.revision, head).catch(() => null)
      : null;
  const strategy = await readStrategyStatus(app, db);
  // A blue-green app's service is a template, which never runs: the serving color's unit is what
  // runs the live release.
  const service =
    strategy.strategy === "blue-green" && strategy.color
      ? strategy.colors[strategy.color].unit
      : app.service;
  const unit = await showUnit(service, ["ActiveState", "SubState", "MainPID", "ControlGroup"]);
  const lock = (await liveLockHolder(app.name)) ?? null;
  const lastSync = recall(db, app.name, "last_sync");
  return {
    app: app.name,
    ...strategy,
    live: live ? { release: live.name, revision: live.revision, since } : null,
    branch: { name: app.repo.branch, head: head ?? null, commitsAhead: ahead },
    service: {
      unit: service,
      active: unit.ActiveState ?? "unknown",
      sub: unit.SubState ?? "unknown",
      mainPid: Number(unit.MainPID ?? 0),
      processes: (await appPids(unit.ControlGroup ?? "")).length,
    },
    lock,
    held: await holdPlaced(app),
    interrupted: lock ? [] : runningDeployments(db, app.name).map((d) => d.id),
    lastSync: lastSync ? (JSON.parse(lastSync) as Record<string, unknown>) : null,
    lastDeployment: recentDeployments(db, app.name, 1)[0] ?? null,
    lastCheck: listChecks(db, app.name, 1)[0] ?? null,
    signer: live ? (liveSource(db, app.name, live.revision)?.signer ?? null) : null,
    promotion: app.promote
      ? {
          branch: app.promote.branch,
          due: promotionDue(db, app, live?.revision),
          last: live
            ? (lastPromotionOf(db, app.name, live.revision, app.promote.branch) ?? null)
            : null,
        }
      : null,
  };
}
