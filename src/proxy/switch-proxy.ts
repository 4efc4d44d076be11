// Send the proxy's new connections to one color: the upstream file names its port, `nginx -t`
// must accept the whole configuration, then a graceful reload. What nginx was serving keeps being
// served until its connections end (old workers finish them).
import type { BlueGreenApp, Color } from "../config/blue-green.js";
import { COLORS, colorUnit } from "../config/blue-green.js";
import { logger } from "../log.js";
import { run } from "../system/run.js";
import { reloadProxy, testProxyConfig } from "./nginx.js";
import { restoreUpstream, writeUpstream } from "./upstream-file.js";

// Point the upstream file at `color`, test, reload. A configuration nginx refuses (the operator's
// site broken, say) puts the file back as it was and throws: nothing is reloaded, and the color
// that served keeps serving. `accepted` is called once nginx has accepted the new file: from then
// on, whatever fails, the file names the new color and undoing means switching back.
// Returns a one-line account.
export async function switchProxy(
  app: BlueGreenApp,
  color: Color,
  accepted: () => void = () => {},
): Promise<string> {
  const { upstream_file: file, proxy, ports } = app.blue_green;
  const previous = await writeUpstream(file, { app: app.name, color, port: ports[color] });
  try {
    await testProxyConfig();
  } catch (error) {
    await restoreUpstream(file, previous);
    throw error;
  }
  accepted();
  const how = await reloadProxy(proxy);
  await bootWith(app, color);
  return `${file} -> 127.0.0.1:${ports[color]} (${color}), nginx -t ok, ${proxy} ${how}`;
}

// Enable the serving color's unit and disable the other, so that after a reboot systemd starts the
// color the upstream file names, before the agent's boot sync runs. Best effort: a template
// without an [Install] section cannot be enabled, and the boot sync starts the color then.
async function bootWith(app: BlueGreenApp, color: Color): Promise<void> {
  for (const c of COLORS) {
    const unit = colorUnit(app.service, c);
    const action = c === color ? "enable" : "disable";
    const result = await run("systemctl", [action, "--quiet", "--", unit], { reject: false });
    if (result.exitCode !== 0) {
      logger.warn({ app: app.name, unit, stderr: result.stderr }, `systemctl ${action} failed`);
    }
  }
}
