// The steps a sync, a rollback and a restore run alike: stop (5), switch (7a), start (7c) and
// verify (8). Each marks in the run's progress how far it got before it changes the host, so a
// failure anywhere knows what the rollback has to undo.
import { readlink } from "node:fs/promises";
import path from "node:path";
import { type DeployRun, runStep } from "../deploy/run.js";
import { uptimeMs } from "../system/processes.js";
import { startService } from "./start.js";
import { stopService } from "./stop.js";
import { switchCurrent } from "./switch.js";
import { verifyRelease } from "./verify.js";

export function stopStep(run: DeployRun): Promise<void> {
  return runStep(run, "stop", async (note) => {
    run.progress.stopped = true;
    note(`${await stopService(run.app)} processes stopped`);
  });
}

// `current` -> run.release, the release this run builds or returns to.
export function switchStep(run: DeployRun): Promise<void> {
  return runStep(run, "switch", async (note) => {
    run.progress.switched = true;
    const moved = await linkMoves(run.layout.current, run.release as string);
    await switchCurrent(run.layout, run.release as string);
    if (moved) run.switchedAt = await uptimeMs();
    note(`current -> ${run.release}`);
  });
}

// Whether pointing `link` at `release` changes it. A switch to the release it already names (a
// recovery going forward after a power cut, whose processes this boot's systemd started) is no
// switch: nothing started before it can be stale.
export async function linkMoves(link: string, release: string): Promise<boolean> {
  const was = await readlink(link).catch(() => undefined);
  return was === undefined || path.basename(was) !== release;
}

export function startStep(run: DeployRun): Promise<void> {
  return runStep(run, "start", async () => {
    run.progress.started = true;
    await startService(run.app);
  });
}

// Every process and health answer on run.sha, the commit of run.release.
export function verifyStep(run: DeployRun): Promise<void> {
  return runStep(run, "verify", async (note) =>
    note(await verifyRelease(run.app, run.sha, undefined, run.switchedAt)),
  );
}
