// The proxy in front of a blue-green app: nginx's own configuration test, and a reload through
// systemd that never cuts a connection.
import { setTimeout as delay } from "node:timers/promises";
import { printable } from "../output/sanitize.js";
import { cgroupPids } from "../system/cgroup.js";
import { inCgroup, readProcess } from "../system/processes.js";
import { run } from "../system/run.js";
import { showUnit, unitAction } from "../system/systemd.js";

// `nginx -t` parses every file of the configuration; on a sane host it takes well under a second.
const TEST_TIMEOUT_MS = 30_000;
// For `systemctl reload`, and again for nginx to apply it: it re-reads every file and, with many
// certificates, that is seconds, never half a minute.
const RELOAD_TIMEOUT_MS = 30_000;
const RELOAD_POLL_MS = 50;
const START_TIMEOUT_MS = 120_000;
// The lines of nginx's report kept in an error: it stops at the first fatal problem, so a few.
const REPORT_LINES = 20;

// The proxy could not be reloaded or started as asked.
export class ProxyError extends Error {
  override name = "ProxyError";
}

// `nginx -t` refused the configuration; `lines` is nginx's own report, which names the file and
// line ("nginx: [emerg] unexpected "}" in /etc/nginx/sites-enabled/shop:12").
export class ProxyConfigError extends ProxyError {
  override name = "ProxyConfigError";
  constructor(
    message: string,
    readonly lines: string[],
  ) {
    super(lines.length > 0 ? `${message}:\n${lines.map((l) => `  ${l}`).join("\n")}` : message);
  }
}

// The lines of what `nginx -t` printed, made printable, blank ones dropped, at most a screenful.
export function nginxReport(output: string): string[] {
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .slice(0, REPORT_LINES)
    .map((line) => printable(line, 500));
}

// Test the whole nginx configuration as nginx will load it, upstream file included. The reload
// must never be the test: a reload of a broken configuration is refused by nginx's master in its
// log only, and `systemctl reload` still succeeds.
//
// The test runs as a transient service of PID 1's, not as our child: `nginx -t` opens every log
// file and temp path for writing, which the daemon's sandbox (ProtectSystem=strict) refuses, and
// it must judge the configuration as nginx.service will run it, not as our sandbox sees it.
export async function testProxyConfig(): Promise<void> {
  const result = await run(
    "systemd-run",
    ["--wait", "--pipe", "--quiet", "--collect", "--service-type=exec", "--", "nginx", "-t"],
    { timeoutMs: TEST_TIMEOUT_MS, reject: false },
  );
  if (result.exitCode === 0 && !result.timedOut) return;
  const lines = nginxReport(result.stderr || result.stdout);
  if (result.timedOut) {
    throw new ProxyConfigError(`nginx -t did not finish within ${TEST_TIMEOUT_MS / 1000}s`, lines);
  }
  if (result.exitCode === 127) {
    throw new ProxyConfigError("nginx -t could not be started (is nginx installed?)", lines);
  }
  throw new ProxyConfigError(`nginx -t refused the configuration (exit ${result.exitCode})`, lines);
}

// Whether the proxy's unit is up (a reload in progress counts: it keeps serving throughout).
export async function proxyIsActive(unit: string): Promise<boolean> {
  const { ActiveState } = await showUnit(unit, ["ActiveState"]);
  return isUp(ActiveState);
}

// Make the proxy serve its current configuration: `systemctl reload` when it runs (nginx's reload
// is graceful: new workers take new connections, old ones finish theirs), `systemctl start` when
// it does not. Never a restart, which would cut every connection: a unit that cannot reload is
// refused. Says which of the two it did.
//
// nginx's ExecReload= only signals the master and returns before the master has read the new
// configuration; a reload it cannot apply is reported in its error log alone. So after the reload
// this waits until a process that was not in the unit's cgroup appears: the master forks new
// workers only once the new configuration is in effect.
export async function reloadProxy(unit: string): Promise<"reloaded" | "started"> {
  const props = await showUnit(unit, ["LoadState", "ActiveState", "CanReload", "ControlGroup"]);
  if (props.LoadState !== "loaded") {
    throw new ProxyError(
      `${unit} is not a unit systemd can run (LoadState=${props.LoadState ?? "unknown"}): is nginx installed?`,
    );
  }
  if (!isUp(props.ActiveState)) {
    await unitAction("start", unit, START_TIMEOUT_MS);
    return "started";
  }
  if (props.CanReload !== "yes") {
    throw new ProxyError(
      `${unit} cannot be reloaded (it has no ExecReload=), and a restart would cut every connection: refused`,
    );
  }
  const controlGroup = props.ControlGroup ?? "";
  const before = new Set(await cgroupPids(controlGroup));
  await unitAction("reload", unit, RELOAD_TIMEOUT_MS);
  if (before.size > 0 && !(await newProcessAppears(controlGroup, before))) {
    throw new ProxyError(
      `${unit} was reloaded but started no new workers within ${RELOAD_TIMEOUT_MS / 1000}s: nginx did not apply the configuration (its error log says why)`,
    );
  }
  await oldWorkersStopAccepting(before, controlGroup);
  return "reloaded";
}

// Poll the cgroup until it holds a process not in `before`; false when none appears in time.
async function newProcessAppears(controlGroup: string, before: Set<number>): Promise<boolean> {
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await cgroupPids(controlGroup)).some((pid) => !before.has(pid))) return true;
    await delay(RELOAD_POLL_MS);
  }
  return false;
}

// For a moment after a reload both generations of workers accept connections: the new ones start
// before the master tells the old ones to stop. Wait until every old worker has gone or calls
// itself "worker process is shutting down" (nginx sets that title as it closes its listening
// sockets), so that what follows (the public verify) sees only the new configuration. Old workers
// keep their open connections (a stream) until those end; that is the drain's business.
async function oldWorkersStopAccepting(before: Set<number>, controlGroup: string): Promise<void> {
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const olds = await Promise.all([...before].map(readProcess));
    // A pid reused by a process outside nginx's cgroup is not an old worker, whatever it is called.
    const accepting = olds.filter((p) => {
      if (!p || !inCgroup(p, controlGroup)) return false;
      const title = p?.argv.join(" ") ?? "";
      return title.includes("worker process") && !title.includes("shutting down");
    });
    if (accepting.length === 0) return;
    await delay(RELOAD_POLL_MS);
  }
}

function isUp(activeState: string | undefined): boolean {
  return activeState === "active" || activeState === "reloading";
}
