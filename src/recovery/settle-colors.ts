// Crash recovery for a blue-green deployment: whatever moment it died at (idle color starting,
// upstream written but not reloaded, reload done, draining), bring the host to one serving color
// behind a valid upstream. The upstream file decides which color serves: it is what nginx reads
// when it (re)starts, and the agent writes it only for a color it has verified on its own port.
import { type BlueGreenApp, colorUnit } from "../config/blue-green.js";
import type { DeployRun } from "../deploy/run.js";
import { runStep } from "../deploy/run.js";
import { servingColor } from "../proxy/serving.js";
import { otherColor, readColor } from "../release/colors.js";
import type { DeploymentRecord } from "../state/deployments.js";
import { clearDrain } from "../state/drain-record.js";
import {
  colorRunning,
  drainStep,
  startColorStep,
  stopColorStep,
  switchProxyStep,
  verifyColorStep,
} from "../steps/color-steps.js";
import { switchCurrent } from "../steps/switch.js";

const BEFORE_SWITCH = new Set([
  "fetch",
  "build",
  "precopy",
  "backup",
  "migrate",
  "start",
  "verify",
]);

export async function settleColors(
  run: DeployRun,
  app: BlueGreenApp,
  dep: DeploymentRecord,
): Promise<"deployed" | "rolled-back" | "failed"> {
  const serving = await servingColor(app);
  if (!serving) {
    // A first deploy that died before its switch: nothing was served. Stop the color it started;
    // the next sync deploys afresh.
    const color = dep.color === "green" ? "green" : "blue";
    if (await colorRunning(app, color)) await stopColorStep(run, app, color);
    return "failed";
  }
  const release = await readColor(run.layout, serving);
  if (!release)
    throw new Error(`colors/${serving} names no release, yet the upstream sends traffic to it`);
  const back: DeployRun = { ...run, release: release.name, sha: release.revision };
  // After a reboot systemd has started the enabled color, or not (a template without [Install]):
  // start it if need be, verify it, and have the proxy serve exactly the upstream file.
  if (!(await colorRunning(app, serving))) await startColorStep(back, app, serving);
  await verifyColorStep(back, app, serving);
  await switchProxyStep(back, app, serving);
  await runStep(back, "verify-public", async (note) => {
    await switchCurrent(run.layout, release.name);
    note(`current -> ${release.name}`);
  });
  // The other color: drained (a run killed mid-drain leaves it serving old connections) and stopped.
  const other = otherColor(serving);
  if (await colorRunning(app, other)) {
    await drainStep(back, app, other);
    await stopColorStep(back, app, other);
  } else clearDrain(run.db, app.name);
  run.log.info({ serving, unit: colorUnit(app.service, serving) }, "blue-green settled");
  if (release.name === dep.toRelease) return "deployed";
  // Died before its switch: the serving color was never touched.
  return dep.step && BEFORE_SWITCH.has(dep.step) && !dep.undoing ? "failed" : "rolled-back";
}
