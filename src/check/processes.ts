// Check "processes": the unit's cgroup holds exactly master + workers, and no copy runs outside.
import { realpath } from "node:fs/promises";
import type { AppConfig } from "../config/schema.js";
import { printable } from "../output/sanitize.js";
import { cgroupPids } from "../system/cgroup.js";
import { listProcesses, type ProcessInfo } from "../system/processes.js";
import { unitControlGroup } from "../system/systemd.js";
import { isStray, selfAndAncestors, siblingColorUnits } from "./strays.js";
import type { Check, CheckContext, CheckOutcome } from "./types.js";
import { readUnitState, type UnitState, unitStateOf } from "./unit-state.js";

export interface StrayProcess {
  pid: number;
  cwd: string | null;
  command: string;
}

export interface UnitProcesses {
  unit: string;
  mainPid: number;
  masters: number[];
  workers: number[];
  // Where each master and worker runs and since when: what proves which release it serves.
  members: UnitMember[];
  // In the cgroup but neither master nor worker (e.g. a subprocess a worker started).
  others: number[];
  strays: StrayProcess[];
  program: string | null;
  // Units running the same app beside this one (a blue-green app's other color), with their
  // processes: the app's own, not strays.
  siblings?: SiblingUnit[];
}

export interface UnitMember {
  pid: number;
  // /proc/PID/cwd as the kernel resolved it when the process chdir'ed (or inherited it).
  cwd: string | null;
  startTicks: number;
}

export interface SiblingUnit {
  unit: string;
  pids: number[];
}

export interface ProcessGroups {
  masters: number[];
  workers: number[];
  others: number[];
}

export const processesCheck: Check = {
  name: "processes",
  async run(ctx) {
    return evaluateProcesses(await unitProcessesOf(ctx), ctx.app.processes);
  },
};

// The unit's processes for this check run: read once, however many checks ask (processes and
// health both need them).
const perRun = new WeakMap<CheckContext, Promise<UnitProcesses>>();

export function unitProcessesOf(ctx: CheckContext): Promise<UnitProcesses> {
  let pending = perRun.get(ctx);
  if (!pending) {
    pending = unitStateOf(ctx).then((state) => inspectUnitProcesses(ctx.app, state));
    perRun.set(ctx, pending);
  }
  return pending;
}

// Who runs in the unit's cgroup and which copies of its program run outside it.
export async function inspectUnitProcesses(
  app: AppConfig,
  state?: UnitState,
): Promise<UnitProcesses> {
  const unit = state ?? (await readUnitState(app.service));
  const [members, siblings, procs, realDir] = await Promise.all([
    cgroupPids(unit.controlGroup),
    readSiblings(unit.unit),
    listProcesses(),
    realpath(app.dir).catch(() => app.dir),
  ]);
  const inUnit = new Set(members);
  const groups = groupUnitProcesses(procs.filter((p) => inUnit.has(p.pid)));
  const exclude = new Set([
    ...inUnit,
    ...siblings.flatMap((s) => s.pids),
    ...selfAndAncestors(procs),
  ]);
  const strays = unit.program
    ? procs
        .filter((p) =>
          isStray(p, {
            program: unit.program as string,
            appDirs: [...new Set([app.dir, realDir])],
            controlGroup: unit.controlGroup,
            siblingGroups: siblings.map((s) => s.controlGroup),
            exclude,
          }),
        )
        .map((p) => ({ pid: p.pid, cwd: p.cwd ?? null, command: p.argv.join(" ") }))
    : [];
  const served = new Set([...groups.masters, ...groups.workers]);
  const running = procs
    .filter((p) => served.has(p.pid))
    .map((p) => ({ pid: p.pid, cwd: p.cwd ?? null, startTicks: p.startTicks }));
  return {
    unit: unit.unit,
    mainPid: unit.mainPid,
    ...groups,
    members: running,
    strays,
    program: unit.program ?? null,
    ...(siblings.length > 0
      ? { siblings: siblings.map(({ unit, pids }) => ({ unit, pids })) }
      : {}),
  };
}

// The sibling units' cgroups and members (see siblingColorUnits); none for most units, at no cost.
async function readSiblings(
  unit: string,
): Promise<{ unit: string; controlGroup: string; pids: number[] }[]> {
  return Promise.all(
    siblingColorUnits(unit).map(async (sibling) => {
      const controlGroup = await unitControlGroup(sibling);
      return { unit: sibling, controlGroup, pids: await cgroupPids(controlGroup) };
    }),
  );
}

// Split a cgroup's processes into masters (whose parent is outside the cgroup: what systemd
// started, normally MainPID alone), workers (children of a master) and anything else.
export function groupUnitProcesses(members: ProcessInfo[]): ProcessGroups {
  const pids = new Set(members.map((p) => p.pid));
  const masters = members.filter((p) => !pids.has(p.ppid)).map((p) => p.pid);
  const masterSet = new Set(masters);
  const workers = members.filter((p) => masterSet.has(p.ppid)).map((p) => p.pid);
  const others = members
    .filter((p) => !masterSet.has(p.pid) && !masterSet.has(p.ppid))
    .map((p) => p.pid);
  return { masters, workers, others };
}

// Longest stray cwd shown in the summary; the details keep it whole.
const MAX_CWD = 120;

// Judge what runs against the configured counts.
export function evaluateProcesses(
  found: UnitProcesses,
  expected: { master: number; workers: number },
): CheckOutcome {
  const { masters, workers, others, strays, unit } = found;
  const details = { ...found, expected };
  const shape = `${masters.length} master${masters.length === 1 ? "" : "s"} + ${workers.length} worker${workers.length === 1 ? "" : "s"}`;
  const pids = `master ${masters.join(" ") || "-"}, workers ${workers.join(" ") || "-"}`;
  if (strays.length > 0) {
    // Whoever started a stray chose its cwd (and may have chosen the program's name): printable.
    const list = strays
      .map((s) => `${s.pid}${s.cwd ? ` (cwd ${printable(s.cwd, MAX_CWD)})` : ""}`)
      .join(", ");
    return {
      status: "critical",
      summary: `${strays.length} stray ${printable(found.program ?? "")} outside ${printable(unit)}: pid ${list}`,
      details,
    };
  }
  if (masters.length === 0) {
    return { status: "critical", summary: `no processes in ${unit}`, details };
  }
  if (masters.length !== expected.master || workers.length !== expected.workers) {
    return {
      status: "critical",
      summary: `${shape}, expected ${expected.master} + ${expected.workers} (${pids})`,
      details,
    };
  }
  if (found.mainPid && !masters.includes(found.mainPid)) {
    return {
      status: "critical",
      summary: `MainPID ${found.mainPid} is not the master of ${unit} (${pids})`,
      details,
    };
  }
  if (others.length > 0) {
    return {
      status: "warning",
      summary: `${shape} and ${others.length} other process${others.length === 1 ? "" : "es"} (${others.join(" ")})`,
      details,
    };
  }
  return { status: "ok", summary: `${shape} (${pids})`, details };
}
