// Memory of `deploy-agent daemon` as systemd runs it: right after start, then at 50, 250, 500,
// 750 and 1,000 scheduled checks, at one check per second (about 18 minutes). V8 grows its heap in steps and gives it back only at
// a major GC, so one RSS reading per checkpoint is noise of several MB: the daemon is sampled
// about once a second and each window between checkpoints reports its low and high water marks. A leak per
// check shows as low-water marks that keep climbing; warm-up (JIT, heap sizing) ends early.
// RSS alone cannot tell a slowly growing V8 heap (reclaimed at the next major GC) from a leak, so
// the run ends with the live JS heap after a full GC, from two heap snapshots 100 checks apart.
// Snapshots perturb RSS (their buffers stay mapped), so they come after the RSS samples.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Machine } from "../machine/machine.js";
import { GUEST_REPO, repoRoot } from "../machine/paths.js";
import { AGENT_CONFIG_PATH, provisionShop, shopConfigYaml } from "../machine/sample-app.js";
import { progress, withMachine } from "./bench-machine.js";

const UNIT = "deploy-agent.service";
const STATE_DB = "/var/lib/deploy-agent/state.db";
const CHECKPOINTS = [50, 250, 500, 750, 1000];
// Heap snapshots at the last checkpoint and this many checks later.
const HEAP_INTERVAL = 100;
// Bench-only drop-in: Node writes a heap snapshot (after a full GC) on SIGUSR2, into the state
// directory, the one place the sandboxed unit may write. A drop-in's NODE_OPTIONS replaces the
// unit's, so the unit's own V8 flags are carried over: nothing else about the daemon changes.
function heapDropIn(): string {
  const unit = readFileSync(path.join(repoRoot(), "units", UNIT), "utf8");
  const own = /^Environment="NODE_OPTIONS=([^"]*)"/m.exec(unit)?.[1] ?? "";
  return `[Service]
Environment="NODE_OPTIONS=${`${own} --heapsnapshot-signal=SIGUSR2`.trim()}"
WorkingDirectory=/var/lib/deploy-agent
`;
}

export interface DaemonSample {
  // Scheduled checks recorded in the state DB when the sample was taken.
  checks: number;
  // Seconds since `systemctl enable --now` returned (READY=1).
  atS: number;
  // VmRSS = RssAnon (the daemon's own heap, stacks, JIT code) + RssFile (mapped files, mostly
  // the node binary's pages, shared with every other node process and the page cache).
  rssKB: number;
  anonKB: number;
  fileKB: number;
  // The unit's cgroup (the daemon and anything it spawned), in kB.
  cgroupKB: number;
  // CPU seconds of the daemon process (user + system) and of the children it waited for.
  cpuS: number;
  childCpuS: number;
}

// RssAnon range between two checkpoints, from the per-second samples.
export interface DaemonWindow {
  fromChecks: number;
  toChecks: number;
  minAnonKB: number;
  maxAnonKB: number;
}

// Live JS heap after a full GC: the sum of self sizes in a V8 heap snapshot.
export interface LiveHeap {
  checks: number;
  liveKB: number;
  objects: number;
}

export interface DaemonBench {
  // One at READY, then one per checkpoint.
  samples: DaemonSample[];
  windows: DaemonWindow[];
  heaps: LiveHeap[];
  // Median duration of a scheduled check and how many were not ok.
  medianCheckMs: number;
  notOk: number;
  // The first few not-ok verdicts: status and the failing checks with their summaries.
  notOkWhy: string[];
}

// Every second, with node-cron's seconds field; the status endpoint on, as a monitored host has it.
function daemonConfig(): string {
  return shopConfigYaml({
    app: { schedule: "* * * * * *" },
    root: { http: { listen: "127.0.0.1:9107" } },
  });
}

export async function benchDaemonMemory(): Promise<DaemonBench> {
  return withMachine("bench-daemon", async (machine) => {
    const heapEnd = (CHECKPOINTS.at(-1) ?? 0) + HEAP_INTERVAL;
    progress(`daemon memory over ${heapEnd} scheduled checks (1 per second)`);
    await provisionShop(machine, { config: false });
    await machine.writeFile(AGENT_CONFIG_PATH, daemonConfig(), 0o644);
    await machine.writeFile(
      "/etc/deploy-agent/token",
      `${randomBytes(24).toString("hex")}\n`,
      0o600,
    );
    // The units as install.sh installs them, and a first backup so every check is ok.
    await machine.sh(
      `for unit in ${GUEST_REPO}/units/*.service; do install -m 0644 "$unit" /etc/systemd/system/; done
       systemctl daemon-reload
       agent backup >/dev/null`,
      { reject: true },
    );
    await machine.writeFile(`/etc/systemd/system/${UNIT}.d/bench-heap.conf`, heapDropIn(), 0o644);
    await machine.exec(["systemctl", "daemon-reload"], { reject: true });
    await machine.exec(["systemctl", "enable", "--now", "--quiet", UNIT], { reject: true });
    const started = performance.now();
    const pid = Number(
      (await machine.exec(["systemctl", "show", UNIT, "-p", "MainPID", "--value"])).stdout,
    );
    if (!(pid > 0)) throw new Error(`${UNIT} has no main PID`);

    const samples = [await sample(machine, pid, started)];
    const windows: DaemonWindow[] = [];
    for (const target of CHECKPOINTS) {
      const from = samples.at(-1)?.checks ?? 0;
      const series = await samplesUntil(machine, pid, started, target);
      const anon = series.map((s) => s.anonKB);
      const last = series.at(-1) as DaemonSample;
      windows.push({
        fromChecks: from,
        toChecks: last.checks,
        minAnonKB: Math.min(...anon),
        maxAnonKB: Math.max(...anon),
      });
      samples.push(last);
    }
    const heaps: LiveHeap[] = [];
    for (const target of [samples.at(-1)?.checks ?? 0, heapEnd]) {
      await samplesUntil(machine, pid, started, target);
      heaps.push({ checks: await scheduledChecks(machine), ...(await liveHeap(machine, pid)) });
    }
    const after = Number(
      (await machine.exec(["systemctl", "show", UNIT, "-p", "MainPID", "--value"])).stdout,
    );
    if (after !== pid) throw new Error(`the daemon restarted during the run (${pid} -> ${after})`);
    const durations = await sql(
      machine,
      "SELECT duration_ms FROM checks WHERE trigger = 'schedule' ORDER BY duration_ms",
    );
    const notOk = await sql(
      machine,
      "SELECT count(*) FROM checks WHERE trigger = 'schedule' AND status != 'ok'",
    );
    // What was not ok, so a bad verdict in a benchmark is a fact to look at, not a number.
    const why = await sql(
      machine,
      "SELECT status || ': ' || coalesce((SELECT group_concat(json_extract(r.value, '$.name') || ' ' || json_extract(r.value, '$.status') || ' ' || json_extract(r.value, '$.summary'), '; ') FROM json_each(checks.results) r WHERE json_extract(r.value, '$.status') != 'ok'), '') FROM checks WHERE trigger = 'schedule' AND status != 'ok' LIMIT 3",
    );
    return {
      samples,
      windows,
      heaps,
      medianCheckMs: Number(durations[Math.floor(durations.length / 2)]),
      notOk: Number(notOk[0]),
      notOkWhy: why,
    };
  });
}

// Sample the daemon about once a second until `target` scheduled checks have run; returns the
// samples, the last one taken at or after the target.
async function samplesUntil(
  machine: Machine,
  pid: number,
  started: number,
  target: number,
): Promise<DaemonSample[]> {
  const series: DaemonSample[] = [];
  const from = await scheduledChecks(machine);
  // A check takes about 0.1 s: three times the schedule is ample before calling it stuck.
  const deadline = performance.now() + (target - from) * 3000 + 10_000;
  for (;;) {
    const now = await sample(machine, pid, started);
    series.push(now);
    if (now.checks >= target) return series;
    if (performance.now() > deadline) throw new Error(`only ${now.checks} checks ran`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// Ask the daemon for a heap snapshot (V8 runs a full GC first), wait until the file is complete,
// and sum the self sizes of its nodes: the memory the JS heap really holds.
async function liveHeap(machine: Machine, pid: number): Promise<Omit<LiveHeap, "checks">> {
  const dir = "/var/lib/deploy-agent";
  await machine.exec(["sh", "-c", `rm -f ${dir}/*.heapsnapshot; kill -USR2 ${pid}`], {
    reject: true,
  });
  const text = await machine.waitFor(
    async () => {
      // Complete when its size holds still for half a second and it parses.
      const size = `stat -c %s ${dir}/*.heapsnapshot 2>/dev/null`;
      const out = await machine.exec(["sh", "-c", `${size} && sleep 0.5 && ${size}`]);
      const [a, b] = out.stdout.split("\n");
      if (out.exitCode !== 0 || !a || a !== b) return undefined;
      const file = await machine.exec(["sh", "-c", `cat ${dir}/*.heapsnapshot`]);
      try {
        return JSON.parse(file.stdout) as HeapSnapshot;
      } catch {
        return undefined;
      }
    },
    60_000,
    { what: "the daemon's heap snapshot", intervalMs: 500 },
  );
  await machine.exec(["sh", "-c", `rm -f ${dir}/*.heapsnapshot`]);
  const fields = text.snapshot.meta.node_fields;
  const self = fields.indexOf("self_size");
  let bytes = 0;
  for (let i = self; i < text.nodes.length; i += fields.length) bytes += text.nodes[i] ?? 0;
  return { liveKB: bytes / 1024, objects: text.nodes.length / fields.length };
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[] } };
  nodes: number[];
}

// Rows of a query on the state DB (first column), read with the sqlite3 CLI while the daemon
// writes it (WAL: readers do not block the writer).
async function sql(machine: Machine, query: string): Promise<string[]> {
  const out = await machine.exec(["sqlite3", "-readonly", STATE_DB, query], { reject: true });
  return out.stdout.split("\n").filter(Boolean);
}

async function scheduledChecks(machine: Machine): Promise<number> {
  const [n] = await sql(machine, "SELECT count(*) FROM checks WHERE trigger = 'schedule'");
  return Number(n);
}

// RSS from /proc/PID/status, CPU from /proc/PID/stat (fields 14-17, in clock ticks), the cgroup's
// memory from systemd, and the check count, read together.
async function sample(machine: Machine, pid: number, started: number): Promise<DaemonSample> {
  const atS = (performance.now() - started) / 1000;
  const out = await machine.sh(
    `awk '/^(VmRSS|RssAnon|RssFile):/ {print $2}' /proc/${pid}/status
     cut -d' ' -f14-17 /proc/${pid}/stat
     getconf CLK_TCK
     systemctl show ${UNIT} -p MemoryCurrent --value`,
    { reject: true },
  );
  const [rss = "", anon = "", file = "", stat = "", tck = "100", mem = ""] = out.stdout.split("\n");
  const [utime = 0, stime = 0, cutime = 0, cstime = 0] = stat.split(" ").map(Number);
  const hz = Number(tck);
  return {
    checks: await scheduledChecks(machine),
    atS,
    rssKB: Number(rss),
    anonKB: Number(anon),
    fileKB: Number(file),
    cgroupKB: /^\d+$/.test(mem) ? Math.round(Number(mem) / 1024) : Number.NaN,
    cpuS: (utime + stime) / hz,
    childCpuS: (cutime + cstime) / hz,
  };
}

const mb = (kb: number) => (Number.isNaN(kb) ? "n/a" : `${(kb / 1024).toFixed(1)} MB`);

export function daemonLines(d: DaemonBench): string[] {
  const lines = [
    `daemon memory (deploy-agent.service, schedule "* * * * * *", status endpoint on; median check ${Math.round(d.medianCheckMs)} ms, ${d.notOk} not ok)`,
    ...d.notOkWhy.map((why) => `  not ok: ${why}`),
    "  sample             checks   after     VmRSS   RssFile   RssAnon  RssAnon low-high since prev    cgroup  CPU self+children  CPU/check",
  ];
  let previous: DaemonSample | undefined;
  for (const [i, s] of d.samples.entries()) {
    const when = previous ? `${s.checks} checks` : "right after READY";
    const window = i > 0 ? d.windows[i - 1] : undefined;
    const range = window ? `${mb(window.minAnonKB)} - ${mb(window.maxAnonKB)}` : "-";
    const perCheck =
      previous && s.checks > previous.checks
        ? `${((1000 * (s.cpuS + s.childCpuS - previous.cpuS - previous.childCpuS)) / (s.checks - previous.checks)).toFixed(0)} ms`
        : "-";
    const cpu = `${s.cpuS.toFixed(2)} + ${s.childCpuS.toFixed(2)} s`;
    const cols = [
      when.padEnd(17),
      String(s.checks).padStart(6),
      `${s.atS.toFixed(0)} s`.padStart(6),
      mb(s.rssKB).padStart(8),
      mb(s.fileKB).padStart(8),
      mb(s.anonKB).padStart(8),
      range.padStart(28),
      mb(s.cgroupKB).padStart(8),
      cpu.padStart(17),
      perCheck.padStart(9),
    ];
    lines.push(`  ${cols.join("  ")}`);
    previous = s;
  }
  const idle = d.samples[0];
  if (idle) {
    const lows = d.windows.map((w) => `${(w.minAnonKB / 1024).toFixed(1)}`).join(" -> ");
    lines.push(
      `  RssAnon low-water mark per window: ${lows} MB   (target: flat over 1,000 checks)`,
      `  idle: VmRSS ${mb(idle.rssKB)}, of which ${mb(idle.fileKB)} mapped files (node binary etc., shared); RssAnon ${mb(idle.anonKB)}   (target: RssAnon <= 20 MB: ${idle.anonKB <= 20 * 1024 ? "met" : "NOT met"})`,
      "  CPU/check: the daemon plus the children it waited for (systemctl...), per scheduled check",
    );
  }
  const [h1, h2] = d.heaps;
  if (h1 && h2) {
    const delta = h2.liveKB - h1.liveKB;
    const perCheck = (delta * 1024) / (h2.checks - h1.checks);
    lines.push(
      `  live JS heap after a full GC (heap snapshot): ${mb(h1.liveKB)} at ${h1.checks} checks, ${mb(h2.liveKB)} at ${h2.checks} (${delta >= 0 ? "+" : ""}${delta.toFixed(0)} kB, ${perCheck.toFixed(0)} bytes/check; objects ${h1.objects} -> ${h2.objects})`,
    );
  }
  return lines;
}
