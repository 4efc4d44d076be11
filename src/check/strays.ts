// Which processes are copies of the app running outside its unit ("strays").
import path from "node:path";
import { COLORS, colorUnit } from "../config/blue-green.js";
import { inCgroup, type ProcessInfo } from "../system/processes.js";
import { programOf } from "./unit-state.js";

export interface StrayCriteria {
  // The program the unit's ExecStart runs, e.g. "gunicorn".
  program: string;
  // The app directory, as configured and as resolved (they differ when it is a symlink).
  appDirs: string[];
  // The unit's cgroup; empty when the unit has none (stopped).
  controlGroup: string;
  // The cgroups of the units that run the same app beside it (siblingColorUnits): never strays.
  siblingGroups?: string[];
  // PIDs that are the unit's by cgroup.procs, this agent, or the agent's ancestors.
  exclude: ReadonlySet<number>;
}

// A stray is a process outside the unit's cgroup that runs the unit's program for this app:
// the old gunicorn that survived a restart and still holds the port or the DB. Both halves are
// needed: the program alone would flag another app's gunicorn, the directory alone would flag an
// operator's shell cd'd into /srv/shop. The program is matched where a command line names what it
// runs (argv[0], or the script/module behind an interpreter), not anywhere in argv, so a
// `grep gunicorn` run from the app directory is not a stray either. This agent and its
// ancestors are excluded: they may well have been started from the app directory.
export function isStray(proc: ProcessInfo, criteria: StrayCriteria): boolean {
  if (criteria.exclude.has(proc.pid)) return false;
  if (criteria.controlGroup && inCgroup(proc, criteria.controlGroup)) return false;
  if (criteria.siblingGroups?.some((group) => group && inCgroup(proc, group))) return false;
  const [file, ...args] = proc.argv;
  if (!file || programOf(file, args) !== criteria.program) return false;
  return criteria.appDirs.some(
    (dir) => isUnder(proc.cwd, dir) || proc.argv.some((arg) => mentionsDir(arg, dir)),
  );
}

// The units besides `unit` that run the same app: for one color of a blue-green app (as colorView
// names it, shop@blue.service) the other color's instance, which runs the same program from the
// same directory while it drains or before it is stopped, and is never a stray. The color is read
// from the unit's name because the deploy's verify step judges a color on its own, as a restart
// app that knows nothing of the other. Any other unit has none.
export function siblingColorUnits(unit: string): string[] {
  const match = /^([^@]+)@([^@]+)\.service$/.exec(unit);
  const color = COLORS.find((c) => c === match?.[2]);
  if (!match || !color) return [];
  const template = `${match[1]}@.service`;
  return COLORS.filter((c) => c !== color).map((c) => colorUnit(template, c));
}

// True when `candidate` is `dir` or inside it.
export function isUnder(candidate: string | undefined, dir: string): boolean {
  if (!candidate) return false;
  const rel = path.relative(dir, candidate);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

// True when an argument names `dir` or a path inside it (/srv/shop, --chdir=/srv/shop/current),
// but not a sibling that merely shares the prefix (/srv/shop2).
export function mentionsDir(arg: string, dir: string): boolean {
  const root = dir.replace(/\/+$/, "");
  for (let at = arg.indexOf(root); at !== -1; at = arg.indexOf(root, at + 1)) {
    const next = arg[at + root.length];
    if (next === undefined || next === "/" || !/[\w.-]/.test(next)) return true;
  }
  return false;
}

// This process and every ancestor up to PID 1, from a process table.
export function selfAndAncestors(procs: ProcessInfo[], self: number = process.pid): Set<number> {
  const parent = new Map(procs.map((p) => [p.pid, p.ppid]));
  const chain = new Set<number>();
  for (let pid: number | undefined = self; pid && !chain.has(pid); pid = parent.get(pid)) {
    chain.add(pid);
  }
  return chain;
}
