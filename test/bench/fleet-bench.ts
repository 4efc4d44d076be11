// The fleet simulation (issue 11): 25 agents on one machine, each its own "host" (own config,
// state and lock directories, app directory, unit and port, own daemon), polling one real
// `git daemon` over the git protocol with `poll: 10s` and jitter. Measured at the server, from
// its own log: upload-pack requests per second while idle, and their per-second histogram after
// all daemons restart at one moment; then push-to-all-serving convergence with every host on
// main, and with a canary that deploys main and promotes to the branch the others follow.

import { addExtraHost, type ExtraHost, hostAgent } from "../machine/extra-host.js";
import type { Machine } from "../machine/machine.js";
import { provisionShop, pushCommit, SHOP_REMOTE } from "../machine/sample-app.js";
import { progress, withMachine } from "./bench-machine.js";

const HOSTS = 25;
const POLL_S = 10;
const GIT_UNIT = "fleet-git-daemon.service";
const GIT_URL = "git://127.0.0.1/shop.git";
const FOLLOWED = "verified/fleet";

export interface Histogram {
  seconds: number;
  requests: number;
  perSecondMean: number;
  perSecondMax: number;
  // Requests in each second of the window, in order.
  counts: number[];
}

export interface FleetBench {
  hosts: number;
  pollS: number;
  firstConvergeS: number;
  idle: Histogram;
  afterRestart: Histogram;
  // git daemon's CPU (it and the upload-pack processes it forks and reaps) per request, idle, ms.
  serverCpuMsPerRequest: number;
  direct: Convergence;
  canary: Convergence;
}

export interface Stats {
  medianS: number;
  maxS: number;
  minS: number;
}

// From the push: until each host served the commit, and until each host's poll saw it (the part
// that is the fleet's; the rest is each host's own deploy, here 25 of them sharing 2 CPUs).
export interface Convergence extends Stats {
  seen: Stats;
}

export async function benchFleet(): Promise<FleetBench> {
  return withMachine("fleet", async (machine) => {
    progress(`fleet: ${HOSTS} hosts polling git daemon every ${POLL_S}s`);
    await provisionShop(machine, { start: false });
    await startGitDaemon(machine);
    const hosts: ExtraHost[] = [];
    for (let i = 1; i <= HOSTS; i++) {
      const name = `h${String(i).padStart(2, "0")}`;
      hosts.push(
        await addExtraHost(machine, {
          name,
          port: 9000 + i,
          branch: "main",
          workers: 1,
          requests: 3,
          remote: GIT_URL,
          poll: `${POLL_S}s`,
          startDaemon: false,
        }),
      );
    }
    const head = (
      await machine.exec(["git", "--git-dir", SHOP_REMOTE, "rev-parse", "main"], { reject: true })
    ).stdout.trim();
    // Every daemon started at one moment: each host's first poll deploys main from nothing.
    progress("fleet: first deploy of every host");
    const firstStarted = Date.now();
    await restartDaemons(machine, hosts, true);
    await converge(machine, hosts, head, 600);
    const firstConvergeS = (Date.now() - firstStarted) / 1000;

    progress("fleet: idle polling for 60 s");
    const cpuBefore = await gitCpuUs(machine);
    const idleFrom = await machineNow(machine);
    await sleep(60_000);
    const idleTo = await machineNow(machine);
    const cpuAfter = await gitCpuUs(machine);
    const idle = await histogram(machine, idleFrom, idleTo);
    const serverCpuMsPerRequest = (cpuAfter - cpuBefore) / 1000 / Math.max(1, idle.requests);

    progress("fleet: every daemon restarted at once, 30 s of polls");
    const restartFrom = await machineNow(machine);
    await restartDaemons(machine, hosts, false);
    await sleep(30_000);
    const afterRestart = await histogram(machine, restartFrom, restartFrom + 30);

    progress("fleet: a push, every host on main");
    const direct = await pushAndConverge(machine, hosts, "fleet push 1");

    progress("fleet: a canary promoting to the branch the others follow");
    const canary = await addExtraHost(machine, {
      name: "canary",
      port: 9000,
      branch: "main",
      workers: 1,
      requests: 3,
      remote: GIT_URL,
      promote: FOLLOWED,
      poll: `${POLL_S}s`,
      startDaemon: false,
    });
    // The canary's first deploy promotes main's head, which every follower already runs.
    const first = await hostAgent(machine, canary, ["sync"]);
    if (first.exitCode !== 0) throw new Error(`canary sync: ${first.stdout}${first.stderr}`);
    for (const host of hosts) await setBranch(machine, host, FOLLOWED);
    await restartDaemons(machine, [canary, ...hosts], false);
    const viaCanary = await pushAndConverge(machine, hosts, "fleet push 2");
    return {
      hosts: HOSTS,
      pollS: POLL_S,
      firstConvergeS,
      idle,
      afterRestart,
      serverCpuMsPerRequest,
      direct,
      canary: viaCanary,
    };
  });
}

// git daemon in a unit of its own, so its log (one "Request upload-pack" line per fetch or
// ls-remote) is in the journal with a timestamp, and its CPU in its cgroup.
async function startGitDaemon(machine: Machine): Promise<void> {
  await machine.exec(
    [
      "systemd-run",
      "--quiet",
      `--unit=${GIT_UNIT}`,
      // The daemon itself, not `git daemon` (git would run it as a child it waits for, and the
      // CPU of the upload-packs would only reach git's counters when the daemon exits).
      "/usr/lib/git-core/git-daemon",
      "--verbose",
      "--log-destination=stderr",
      "--export-all",
      "--enable=receive-pack",
      "--reuseaddr",
      "--base-path=/srv/git",
      "--listen=127.0.0.1",
      "/srv/git",
    ],
    { reject: true },
  );
  await machine.waitFor(
    async () =>
      (await machine.exec(["git", "ls-remote", GIT_URL, "refs/heads/main"])).exitCode === 0 ||
      undefined,
    10_000,
    { what: "git daemon to answer" },
  );
}

async function setBranch(machine: Machine, host: ExtraHost, branch: string): Promise<void> {
  await editConfig(machine, host, `s|^(      branch:).*$|\\1 ${branch}|`);
}

async function editConfig(machine: Machine, host: ExtraHost, script: string): Promise<void> {
  await machine.exec(["sed", "-E", "-i", script, host.env.DEPLOY_AGENT_CONFIG as string], {
    reject: true,
  });
}

// (Re)start the hosts' daemons all at one moment, as a fleet rebooted or reconfigured together.
async function restartDaemons(machine: Machine, hosts: ExtraHost[], first: boolean): Promise<void> {
  if (!first) {
    await machine.exec(["systemctl", "stop", ...hosts.map((h) => h.daemonUnit)]);
    await machine.exec(["systemctl", "reset-failed", ...hosts.map((h) => h.daemonUnit)]);
  }
  const lines = hosts.map((h) => {
    const env = Object.entries(h.env)
      .map(([k, v]) => `--setenv=${k}=${v}`)
      .join(" ");
    return `systemd-run --quiet --unit=${h.daemonUnit} -p Type=exec ${env} /usr/local/bin/agent daemon &`;
  });
  await machine.exec(["bash", "-c", `${lines.join("\n")}\nwait`], { reject: true });
}

// Seconds since the epoch inside the machine (the journal's clock).
async function machineNow(machine: Machine): Promise<number> {
  return Number((await machine.exec(["date", "+%s.%N"], { reject: true })).stdout.trim());
}

// Requests per second at the server between two moments, from git daemon's journal.
async function histogram(machine: Machine, from: number, to: number): Promise<Histogram> {
  const log = (
    await machine.exec([
      "journalctl",
      "--no-pager",
      "-u",
      GIT_UNIT,
      "-o",
      "short-unix",
      "--since",
      `@${from.toFixed(3)}`,
      "--until",
      `@${to.toFixed(3)}`,
    ])
  ).stdout;
  const seconds = Math.max(1, Math.round(to - from));
  const counts = new Array<number>(seconds).fill(0);
  for (const line of log.split("\n")) {
    if (!line.includes("Request upload-pack")) continue;
    const at = Number(line.split(" ")[0]);
    const i = Math.floor(at - from);
    if (i >= 0 && i < seconds) counts[i] = (counts[i] ?? 0) + 1;
  }
  const requests = counts.reduce((a, b) => a + b, 0);
  return {
    seconds,
    requests,
    perSecondMean: requests / seconds,
    perSecondMax: Math.max(...counts),
    counts,
  };
}

// CPU of git daemon and of the upload-pack processes it forked and reaped (/proc/PID/stat fields
// 14-17: utime, stime, cutime, cstime), in microseconds.
async function gitCpuUs(machine: Machine): Promise<number> {
  const out = (
    await machine.sh(
      `pid=$(systemctl show -p MainPID --value ${GIT_UNIT})
       cut -d' ' -f14-17 /proc/$pid/stat; getconf CLK_TCK`,
      { reject: true },
    )
  ).stdout.split("\n");
  const ticks = (out[0] ?? "")
    .split(" ")
    .map(Number)
    .reduce((a, b) => a + b, 0);
  return (ticks / Number(out[1] ?? 100)) * 1e6;
}

// Push a commit to main and time, from the push, until every host serves it.
async function pushAndConverge(
  machine: Machine,
  hosts: ExtraHost[],
  message: string,
): Promise<Convergence> {
  const pushedAt = await machineNow(machine);
  const sha = await pushCommit(machine, { message, files: { "CHANGES.txt": `${message}\n` } });
  const serving = stats(await converge(machine, hosts, sha, 300));
  // When each host's poll saw the new head: its deployment's fetch began right after, as its
  // state DB records (the fetch step's start).
  const out = (
    await machine.sh(
      `for h in ${hosts.map((h) => h.env.DEPLOY_AGENT_STATE_DIR).join(" ")}; do
         sqlite3 "$h/state.db" "SELECT s.started_at FROM deployment_steps s JOIN deployments d ON d.id = s.deployment_id WHERE d.revision = '${sha}' AND s.step = 'fetch' ORDER BY s.rowid LIMIT 1"
       done`,
      { reject: true },
    )
  ).stdout;
  const seen = out
    .split("\n")
    .filter(Boolean)
    .map((t) => Date.parse(t) / 1000 - pushedAt);
  if (seen.length < hosts.length)
    throw new Error(`${seen.length} of ${hosts.length} hosts recorded a fetch`);
  return { ...serving, seen: stats(seen) };
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    minS: sorted[0] ?? Number.NaN,
    medianS: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    maxS: sorted.at(-1) ?? Number.NaN,
  };
}

// Inside the machine, every 100 ms: which hosts answer /health with `sha`; seconds from the start
// until each did. One python process, so the probing costs the hosts little.
async function converge(
  machine: Machine,
  hosts: ExtraHost[],
  sha: string,
  timeoutS: number,
): Promise<number[]> {
  const py = `import json, sys, time, urllib.request
sha, deadline, ports = sys.argv[1], float(sys.argv[2]), [int(p) for p in sys.argv[3:]]
start = time.time(); done = {}
while len(done) < len(ports) and time.time() - start < deadline:
    for p in ports:
        if p in done: continue
        try:
            v = json.load(urllib.request.urlopen(f"http://127.0.0.1:{p}/health", timeout=1))["version"]
        except Exception:
            continue
        if v == sha: done[p] = time.time() - start
    time.sleep(0.1)
print(json.dumps(done))`;
  const result = await machine.exec(
    ["python3", "-c", py, sha, String(timeoutS), ...hosts.map((h) => String(h.port))],
    { timeoutMs: (timeoutS + 30) * 1000, reject: true },
  );
  const done = JSON.parse(result.stdout) as Record<string, number>;
  const times = Object.values(done);
  if (times.length < hosts.length) {
    throw new Error(`only ${times.length} of ${hosts.length} hosts serve ${sha.slice(0, 12)}`);
  }
  return times;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// 1,000 hosts at poll 60s: each polls once per period plus half the jitter on average.
export function extrapolate(f: FleetBench, hosts = 1000, pollS = 60): string[] {
  const rate = hosts / (pollS * 1.05);
  const cpu = rate * f.serverCpuMsPerRequest;
  return [
    `  extrapolated to ${hosts} hosts at poll ${pollS}s: requests/s = hosts / (poll x 1.05) = ${rate.toFixed(1)}/s,`,
    `    git server CPU ~ ${rate.toFixed(1)} x ${f.serverCpuMsPerRequest.toFixed(1)} ms = ${(cpu / 10).toFixed(1)} % of one core while idle;`,
    `    a push reaches every follower within poll x 1.1 + one deploy (${(pollS * 1.1).toFixed(0)} s + deploy), through a canary within twice that`,
  ];
}

export function fleetLines(f: FleetBench): string[] {
  const hist = (h: Histogram) =>
    `${h.requests} requests in ${h.seconds} s: mean ${h.perSecondMean.toFixed(2)}/s, busiest second ${h.perSecondMax} [${h.counts.join(" ")}]`;
  const st = (c: Stats) =>
    `median ${c.medianS.toFixed(1)} s, max ${c.maxS.toFixed(1)} s (first ${c.minS.toFixed(1)} s)`;
  const conv = (c: Convergence) => `serving ${st(c)}; poll saw it ${st(c.seen)}`;
  const expectedRate = f.hosts / (f.pollS * 1.05);
  return [
    `fleet: ${f.hosts} agents on one machine, one git daemon (git://), poll ${f.pollS}s + up to 10 % jitter, first poll anywhere in the first period`,
    `  first deploy of all ${f.hosts} (from nothing, started together): ${f.firstConvergeS.toFixed(1)} s`,
    `  idle, at the server: ${hist(f.idle)}  (expected hosts / (poll x 1.05) = ${expectedRate.toFixed(2)}/s)`,
    `  git daemon CPU per request while idle: ${f.serverCpuMsPerRequest.toFixed(1)} ms`,
    `  after all ${f.hosts} daemons restarted in the same second: ${hist(f.afterRestart)}`,
    `  push -> every host, all on main: ${conv(f.direct)}`,
    `    (expected: seen within poll x 1.1 = ${(f.pollS * 1.1).toFixed(0)} s; serving after one deploy, here ${f.hosts} deploys at once on 2 CPUs)`,
    `  push -> every follower through a canary that promotes: ${conv(f.canary)}`,
    `    (expected: seen within two polls + the canary's deploy)`,
    ...extrapolate(f),
  ];
}
