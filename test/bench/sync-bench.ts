// `agent sync` timings on the provisioned shop app: a no-op sync (branch head already live), and
// one real deploy split into its steps, to show how much of a deploy is the agent itself.
import type { Machine } from "../machine/machine.js";
import { pushCommit, SHOP_REMOTE } from "../machine/sample-app.js";
import { migrationCommit, timedInMachine } from "./bench-machine.js";

export interface NoopSyncBench {
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  // The fetch duration the last run printed ("fetch 120ms"), as the agent measured it.
  fetchText: string;
  exits: number[];
  // A bare `git fetch` of the same ref from the same remote into a repository of its own.
  bareFetchMs: number;
}

// `agent sync` when the remote's head is already live: Node start, config, lock, one fetch,
// compare, exit. This is what every boot and every poll costs when there is nothing to deploy.
export async function benchNoopSync(machine: Machine, runs = 7): Promise<NoopSyncBench> {
  const samples: number[] = [];
  const exits: number[] = [];
  let fetchText = "?";
  for (let i = 0; i < runs; i++) {
    const run = await timedInMachine(machine, "agent sync");
    samples.push(run.ms);
    exits.push(run.exit);
    if (!/is live/.test(run.stdout)) throw new Error(`not a no-op sync:\n${run.stdout}`);
    fetchText = /fetch (\S+)/.exec(run.stdout)?.[1] ?? "?";
  }
  // The baseline: git alone fetching the same ref, nothing new to bring, median of as many runs.
  await machine.exec(["git", "clone", "--quiet", "--bare", SHOP_REMOTE, "/var/tmp/bare-fetch"], {
    reject: true,
  });
  const fetches: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await timedInMachine(
      machine,
      `git --git-dir=/var/tmp/bare-fetch fetch --quiet ${SHOP_REMOTE} +refs/heads/main:refs/heads/main`,
    );
    fetches.push(run.ms);
  }
  const bareFetchMs = [...fetches].sort((a, b) => a - b)[Math.floor(runs / 2)] ?? Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    runs,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    minMs: sorted[0] ?? Number.NaN,
    maxMs: sorted.at(-1) ?? Number.NaN,
    fetchText,
    exits,
    bareFetchMs,
  };
}

export interface StepTime {
  step: string;
  ms: number;
  outcome: string;
}

export interface DeploySplit {
  revision: string;
  exit: number;
  // Wall time of the whole `agent sync` process, timed inside the machine.
  wallMs: number;
  // Steps as `agent history --json` records them, in order.
  steps: StepTime[];
  // The hooks' own run time, from the "<hook> hook finished" log events (inside build/migrate).
  installHookMs: number;
  migrateHookMs: number;
  // Wall time not inside any recorded step: Node start, config, lock, crash-recovery check,
  // compare with the live release, pruning old releases, exit.
  outsideStepsMs: number;
  // fetch + install hook + migrate hook + stop + start + verify: time spent waiting on git, the
  // app's own hooks and the app's unit.
  waitingMs: number;
  // wallMs - waitingMs: everything the agent adds on top.
  overheadMs: number;
}

interface HistoryJson {
  apps: { deployments: { revision: string | null; outcome: string; steps: StepTimeJson[] }[] }[];
}
interface StepTimeJson {
  step: string;
  durationMs: number | null;
  outcome: string;
}

// Push a commit with a migration and deploy it with `agent sync`. A warm-up deploy goes first:
// the first deploy on a host also installs the start-hold drop-in (with a daemon-reload), which
// every later deploy skips, and a bench should show the deploy that happens every day.
export async function benchDeploySplit(machine: Machine): Promise<DeploySplit> {
  await pushCommit(machine, { message: "bench warm-up", files: { "CHANGES.txt": "warm-up\n" } });
  const warm = await timedInMachine(machine, "agent sync");
  if (warm.exit !== 0) throw new Error(`warm-up deploy failed:\n${warm.stdout}${warm.stderr}`);

  const revision = await pushCommit(machine, {
    message: "bench deploy",
    files: migrationCommit(2),
  });
  // Info level, so the hook events (with their durations) reach stderr, as under systemd.
  const run = await timedInMachine(machine, "agent sync", { DEPLOY_AGENT_LOG_LEVEL: "info" });
  if (run.exit !== 0) throw new Error(`deploy failed (exit ${run.exit}):\n${run.stdout}`);

  const history = JSON.parse(
    (await machine.exec(["agent", "history", "--json", "--limit", "1"], { reject: true })).stdout,
  ) as HistoryJson;
  const deployment = history.apps[0]?.deployments[0];
  if (deployment?.revision !== revision || deployment.outcome !== "deployed") {
    throw new Error(`agent history does not show the deploy: ${JSON.stringify(deployment)}`);
  }
  const steps = deployment.steps.map((s) => ({
    step: s.step,
    ms: s.durationMs ?? 0,
    outcome: s.outcome,
  }));
  const installHookMs = hookMs(run.stderr, "install");
  const migrateHookMs = hookMs(run.stderr, "migrate");
  const stepMs = (name: string) => steps.find((s) => s.step === name)?.ms ?? 0;
  const waitingMs =
    stepMs("fetch") +
    installHookMs +
    migrateHookMs +
    stepMs("stop") +
    stepMs("start") +
    stepMs("verify");
  const inSteps = steps.reduce((sum, s) => sum + s.ms, 0);
  return {
    revision,
    exit: run.exit,
    wallMs: run.ms,
    steps,
    installHookMs,
    migrateHookMs,
    outsideStepsMs: run.ms - inSteps,
    waitingMs,
    overheadMs: run.ms - waitingMs,
  };
}

// durationMs of the "<hook> hook finished" pino event on stderr.
function hookMs(stderr: string, hook: string): number {
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; durationMs?: number };
    if (entry.msg === `${hook} hook finished`) return entry.durationMs ?? 0;
  }
  throw new Error(`no "${hook} hook finished" event in the sync's log:\n${stderr}`);
}

// Where each step's time is counted, for the report.
const STEP_NOTES: Record<string, string> = {
  fetch: "waiting  git fetch from the remote (before the deployment row exists)",
  build:
    "agent + install hook: git archive | tar as the app user, REVISION and its record, links, syncfs, hook",
  stop: "waiting  systemctl stop + until the cgroup is empty",
  precopy: "agent    .backup in a held snapshot as the app user, root's own copy (app serving)",
  backup: "agent    the -wal copied beside the pre-copy and applied by SQLite, fsync, rename",
  switch: "agent    rename(2) of current",
  migrate: "agent + migrate hook",
  start: "waiting  fchown DB files, lift hold, systemctl start",
  verify: "waiting  service/processes/health checks until ok, polled every 250 ms",
};

const ms = (v: number) => `${Math.round(v)}`.padStart(6);

export function noopSyncLines(b: NoopSyncBench): string[] {
  return [
    `no-op sync (agent sync, head already live, median of ${b.runs})`,
    `  agent sync            ${Math.round(b.medianMs)} ms  (min ${Math.round(b.minMs)}, max ${Math.round(b.maxMs)}; fetch ${b.fetchText}; exits ${[...new Set(b.exits)].join(",")})`,
    `  bare git fetch        ${Math.round(b.bareFetchMs)} ms  (the same ref, same remote, a repository of its own)`,
    `  agent over git        ${Math.round(b.medianMs - b.bareFetchMs)} ms   target <= 150 ms: ${b.medianMs - b.bareFetchMs <= 150 ? "met" : "NOT met"}`,
  ];
}

export function deploySplitLines(d: DeploySplit): string[] {
  const lines = [
    `deploy of a commit with a migration (agent sync, 2nd deploy on the machine, steps from agent history --json)`,
    `  step          ms  counted as`,
  ];
  for (const s of d.steps) {
    let note = STEP_NOTES[s.step] ?? "agent";
    if (s.step === "build")
      note = `install hook ${Math.round(d.installHookMs)} ms, rest agent: ${note.split(": ")[1]}`;
    if (s.step === "migrate")
      note = `migrate hook ${Math.round(d.migrateHookMs)} ms, rest agent (systemd scope, setpriv, env)`;
    lines.push(
      `  ${s.step.padEnd(10)}${ms(s.ms)}  ${note}${s.outcome === "ok" ? "" : ` [${s.outcome}]`}`,
    );
  }
  lines.push(
    `  ${"(outside)".padEnd(10)}${ms(d.outsideStepsMs)}  agent    node start, config, lock, recovery check, compare, prune, exit`,
    `  ${"wall".padEnd(10)}${ms(d.wallMs)}  the whole agent sync process, exit ${d.exit}`,
    `  waiting = fetch + install hook + migrate hook + stop + start + verify = ${Math.round(d.waitingMs)} ms`,
    `  agent overhead = wall - waiting = ${Math.round(d.overheadMs)} ms (${((100 * d.overheadMs) / d.wallMs).toFixed(0)}% of the deploy)   target <= 15%: ${(100 * d.overheadMs) / d.wallMs <= 15 ? "met" : "NOT met"}`,
  );
  return lines;
}
