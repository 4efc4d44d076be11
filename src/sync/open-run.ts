// Open the deployment row once there is something to deploy.
import type { LiveRelease } from "../release/layout.js";
import { releaseName } from "../release/layout.js";
import { createDeployment, recordStep } from "../state/deployments.js";
import type { AppSession } from "./app-session.js";
import { type DeployRun, freshProgress } from "./deploy-run.js";
import type { FetchedTarget } from "./fetch.js";
import { shortSha } from "./step-names.js";

// Open the deployment row (with the fetch that preceded it) and the context the steps share.
export function openRun(
  session: AppSession,
  at: {
    target: FetchedTarget;
    live: LiveRelease | undefined;
    trigger: string;
    fetchStarted: Date;
    fetchMs: number;
  },
): DeployRun {
  const { app, db, printer, interruption } = session;
  const { target, live } = at;
  const release = releaseName(target.sha);
  const id = createDeployment(db, {
    app: app.name,
    trigger: at.trigger,
    fromRelease: live?.name,
    revision: target.sha,
  });
  const fetchMs = at.fetchMs;
  recordStep(db, id, "fetch", {
    startedAt: at.fetchStarted.toISOString(),
    durationMs: fetchMs,
    outcome: "ok",
  });
  const over = live ? `over ${shortSha(live.revision)}` : "(first deploy)";
  printer.title(`${app.name}: deploying ${shortSha(target.sha)} (${target.ref}) ${over}`);
  printer.end("fetch", fetchMs, "ok", `${target.ref} -> ${shortSha(target.sha)}`);
  const log = session.log.child({ release });
  log.info(
    { step: "fetch", durationMs: fetchMs, outcome: "ok", attempts: target.attempts },
    "fetch ok",
  );
  const { layout } = session;
  const progress = freshProgress();
  return {
    app,
    layout,
    db,
    log,
    printer,
    interruption,
    id,
    sha: target.sha,
    from: live,
    release,
    progress,
  };
}
