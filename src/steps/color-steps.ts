// The named steps of a blue-green deploy (DESIGN.md "Strategy `blue-green`"), each one thing a
// deploy, its undo, `agent rollback` and crash recovery all do the same way: start a color, verify
// it on its own port, switch the proxy, verify through the proxy, drain the old color, stop it.
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { judgeProbe } from "../check/health.js";
import { probeVersions } from "../check/version-probe.js";
import { type BlueGreenApp, type Color, colorUnit } from "../config/blue-green.js";
import { type DeployRun, runStep, type StepSay } from "../deploy/run.js";
import { formatDuration } from "../output/table.js";
import { switchProxy } from "../proxy/switch-proxy.js";
import { colorLink, pointColor, writeColorEnv } from "../release/colors.js";
import { fixDatabaseOwnership } from "../sqlite/db-files.js";
import { clearDrain, recordDrain } from "../state/drain-record.js";
import { colorView, publicView } from "../strategies/color-view.js";
import { cgroupPids } from "../system/cgroup.js";
import {
  countEstablishedHeldBy,
  describePortUse,
  foreignListeners,
  listeningOn,
} from "../system/connections.js";
import { uptimeMs } from "../system/processes.js";
import { showUnit, unitControlGroup } from "../system/systemd.js";
import { linkMoves } from "./service-steps.js";
import { deliberateStart } from "./start.js";
import { stopUnit } from "./stop.js";
import { switchCurrent } from "./switch.js";
import { verifyRelease } from "./verify.js";

// How often a drain looks at the connections, and tells the terminal and STATUS= how far it is.
const DRAIN_POLL_MS = 250;
const DRAIN_SAY_MS = 1000;

// Whether a color's unit is running (or on its way up or down).
export async function colorRunning(app: BlueGreenApp, color: Color): Promise<boolean> {
  const { ActiveState: state } = await showUnit(colorUnit(app.service, color), ["ActiveState"]);
  return state === "active" || state === "activating" || state === "reloading";
}

// Why `color` cannot take its port, or undefined: something other than the color's own unit
// listens there (another app, a forgotten process), which no deploy should stop or race.
export async function portTakenBy(app: BlueGreenApp, color: Color): Promise<string | undefined> {
  const port = app.blue_green.ports[color];
  const unit = colorUnit(app.service, color);
  const ownPids = await cgroupPids(await unitControlGroup(unit));
  if ((await foreignListeners(port, ownPids)) === 0) return undefined;
  // Only now, to name the holder, the host-wide scan of descriptors.
  const own = new Set(ownPids);
  const foreign = (await listeningOn(port)).filter(
    (l) => l.processes.length === 0 || l.processes.some((p) => !own.has(p.pid)),
  );
  if (foreign.length === 0) return undefined;
  return `${describePortUse(port, foreign)}, not by ${unit} (a process on the host holds it: stop it, or give the color another port)`;
}

// "start": point the color at run.release and start its unit on its own port. A color still
// running from before (an interrupted run, a start by hand) is stopped first: it runs some other
// release, and the proxy does not send it traffic. A port held by anything else is refused.
export function startColorStep(run: DeployRun, app: BlueGreenApp, color: Color): Promise<void> {
  return runStep(run, "start", async (note) => {
    const unit = colorUnit(app.service, color);
    const port = app.blue_green.ports[color];
    const release = run.release as string;
    run.progress.started = true;
    if (await colorRunning(app, color)) await stopUnit(unit);
    const taken = await portTakenBy(app, color);
    if (taken) throw new Error(taken);
    const moved = await linkMoves(colorLink(run.layout, color), release);
    await pointColor(run.layout, color, release);
    if (moved) run.switchedAt = await uptimeMs();
    await writeColorEnv(run.layout, color, port);
    await fixDatabaseOwnership(app);
    await deliberateStart(unit);
    note(`${unit} on :${port} runs ${release}`);
  });
}

// "verify": the color's unit active, master + workers in its cgroup, and every answer on its own
// port from run.sha, before the proxy sends it a single request.
export function verifyColorStep(run: DeployRun, app: BlueGreenApp, color: Color): Promise<void> {
  return runStep(run, "verify", async (note) => {
    const name = run.release as string;
    const expected = { name, revision: run.sha, dir: path.join(run.layout.releases, name) };
    note(await verifyRelease(colorView(app, color), run.sha, expected, run.switchedAt));
  });
}

// "switch": new connections go to `color` (switchProxy: upstream file, nginx -t, reload).
export function switchProxyStep(run: DeployRun, app: BlueGreenApp, color: Color): Promise<void> {
  return runStep(run, "switch", async (note) => {
    note(
      await switchProxy(app, color, () => {
        run.progress.switched = true;
      }),
    );
  });
}

// "verify-public": fresh connections through the proxy (public_url) all answer from run.sha; then
// `current` names the release new connections reach.
export function verifyPublicStep(run: DeployRun, app: BlueGreenApp): Promise<void> {
  return runStep(run, "verify-public", async (note) => {
    const view = publicView(app);
    const deadline = Date.now() + app.verify.timeout;
    for (;;) {
      const outcome = judgeProbe(await probeVersions(view, run.sha));
      if (outcome.status === "ok") {
        await switchCurrent(run.layout, run.release as string);
        note(`${app.blue_green.public_url}: ${outcome.summary}; current -> ${run.release}`);
        return;
      }
      if (Date.now() >= deadline) {
        throw new Error(`through ${app.blue_green.public_url}: ${outcome.summary}`);
      }
      await delay(250);
    }
  });
}

// "drain": wait until no connection remains on the old color's port, at most drain_timeout
// (0: for ever), saying how far it is; the drain is on record meanwhile, so `agent check` and the
// status endpoint report the color as draining.
export function drainStep(run: DeployRun, app: BlueGreenApp, color: Color): Promise<void> {
  return runStep(run, "drain", async (note, say) => {
    const port = app.blue_green.ports[color];
    const timeoutMs = app.blue_green.drain_timeout;
    const since = new Date();
    recordDrain(run.db, app.name, {
      color,
      port,
      since: since.toISOString(),
      timeoutMs,
      pid: process.pid,
    });
    const unit = colorUnit(app.service, color);
    const cut = await waitForDrain(unit, port, timeoutMs, color, say);
    const took = formatDuration(Date.now() - since.getTime());
    if (cut === 0) {
      note(`${color} drained in ${took}`);
      return;
    }
    const text = `${color}: drain_timeout of ${formatDuration(timeoutMs)} reached, ${cut} connection${cut === 1 ? "" : "s"} cut`;
    run.log.warn({ color, port, cut, timeoutMs }, text);
    note(text);
  });
}

// Poll the port until it has no established connection; returns how many were left at the limit.
async function waitForDrain(
  unit: string,
  port: number,
  timeoutMs: number,
  color: Color,
  say: StepSay,
): Promise<number> {
  const started = Date.now();
  const cgroup = await unitControlGroup(unit);
  let said = 0;
  for (;;) {
    const open = await countEstablishedHeldBy(port, await cgroupPids(cgroup));
    const elapsed = Date.now() - started;
    if (open === 0) return 0;
    if (timeoutMs > 0 && elapsed >= timeoutMs) return open;
    if (Date.now() - said >= DRAIN_SAY_MS) {
      said = Date.now();
      const limit = timeoutMs > 0 ? ` of ${formatDuration(timeoutMs)}` : " (no limit)";
      say.progress(
        `draining ${color}: ${open} connection${open === 1 ? "" : "s"}, ${formatDuration(elapsed)}${limit}`,
      );
    }
    await delay(DRAIN_POLL_MS);
  }
}

// "stop": the color's unit stopped and its cgroup empty; the drain is over.
export function stopColorStep(run: DeployRun, app: BlueGreenApp, color: Color): Promise<void> {
  return runStep(run, "stop", async (note) => {
    const unit = colorUnit(app.service, color);
    const stopped = await stopUnit(unit);
    clearDrain(run.db, app.name);
    note(`${unit} stopped (${stopped} processes)`);
  });
}
