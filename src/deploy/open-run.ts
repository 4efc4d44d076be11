// Open the deployment row once there is something to deploy.
import type { LiveRelease } from "../release/layout.js";
import { releaseName } from "../release/layout.js";
import { createDeployment } from "../state/deployments.js";
import type { FetchedTarget } from "../steps/fetch.js";
import { type DeployRun, freshProgress } from "./run.js";
import { runSinks } from "./run-sinks.js";
import type { AppSession } from "./session.js";
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
  const { app, db, interruption } = session;
  const { target, live } = at;
  const release = releaseName(target.sha);
  const id = createDeployment(db, {
    app: app.name,
    trigger: at.trigger,
    fromRelease: live?.name,
    revision: target.sha,
  });
  const log = session.log.child({ release });
  const emit = runSinks(db, id, log, session.watcher);
  const over = live ? `over ${shortSha(live.revision)}` : "(first deploy)";
  const text = `${app.name}: deploying ${shortSha(target.sha)} (${target.ref}) ${over}`;
  emit({ type: "run", app: app.name, kind: "deploy", sha: target.sha, text });
  // The fetch ran before the deployment row existed: it is recorded now, with its start time.
  emit({
    type: "step-end",
    app: app.name,
    step: "fetch",
    durationMs: at.fetchMs,
    outcome: "ok",
    note: `${target.ref} -> ${shortSha(target.sha)}`,
    startedAt: at.fetchStarted,
  });
  const { layout } = session;
  const progress = freshProgress();
  return {
    app,
    layout,
    db,
    log,
    emit,
    interruption,
    id,
    sha: target.sha,
    from: live,
    release,
    progress,
  };
}
