// What systemd says about the app's unit: one `systemctl show` per check run, shared by checks.
import path from "node:path";
import { showUnit, type UnitProperties } from "../system/systemd.js";
import type { CheckContext } from "./types.js";

// Every property the service and processes checks need, fetched in one call.
export const UNIT_PROPERTIES = [
  "LoadState",
  "ActiveState",
  "SubState",
  "Result",
  "NRestarts",
  "MainPID",
  "ControlGroup",
  "ExecStart",
  "ActiveEnterTimestamp",
];

export interface UnitState {
  unit: string;
  loadState: string;
  activeState: string;
  subState: string;
  result: string;
  // Automatic restarts (Restart=) since the unit was last started by hand; absent on old systemd.
  nRestarts: number | undefined;
  mainPid: number;
  // The unit's cgroup path; empty while it has no processes.
  controlGroup: string;
  // The program ExecStart runs (e.g. "gunicorn"), used to spot copies of the app outside the unit.
  program: string | undefined;
  activeSince: string;
}

// Read the unit's state from systemd.
export async function readUnitState(unit: string): Promise<UnitState> {
  return toUnitState(unit, await showUnit(unit, UNIT_PROPERTIES));
}

// Pending reads per check run, so service and processes share one subprocess. Keyed weakly by
// the run's context: it lives exactly as long as that run, and concurrent runs never mix.
const perRun = new WeakMap<CheckContext, Promise<UnitState>>();

// The unit state for this check run, read once however many checks ask.
export function unitStateOf(ctx: CheckContext): Promise<UnitState> {
  let pending = perRun.get(ctx);
  if (!pending) {
    pending = readUnitState(ctx.app.service);
    perRun.set(ctx, pending);
  }
  return pending;
}

// Turn `systemctl show` output into a typed state.
export function toUnitState(unit: string, props: UnitProperties): UnitState {
  const restarts = props.NRestarts;
  return {
    unit,
    loadState: props.LoadState ?? "",
    activeState: props.ActiveState ?? "",
    subState: props.SubState ?? "",
    result: props.Result ?? "",
    nRestarts: restarts && /^\d+$/.test(restarts) ? Number(restarts) : undefined,
    mainPid: Number(props.MainPID ?? 0) || 0,
    controlGroup: props.ControlGroup ?? "",
    program: programOfExecStart(props.ExecStart ?? ""),
    activeSince: props.ActiveEnterTimestamp ?? "",
  };
}

// Interpreters and wrappers whose own name says nothing about the app they run.
const INTERPRETER = /^(python[0-9.]*|env|sh|bash|dash|node|perl|ruby)$/;

// The program of the first command in an ExecStart value such as
// `{ path=/usr/bin/gunicorn ; argv[]=/usr/bin/gunicorn --workers 3 app:app ; ... }`.
export function programOfExecStart(value: string): string | undefined {
  const file = /path=([^ ;]+)/.exec(value)?.[1];
  if (!file) return undefined;
  const argv = (/argv\[\]=([^;]*)/.exec(value)?.[1] ?? "").trim().split(/\s+/).filter(Boolean);
  return programOf(file, argv.slice(1));
}

// The program a command line runs, looking through interpreters: `python3 -m gunicorn`,
// `/usr/bin/python3 /usr/bin/gunicorn`, `env X=1 gunicorn` and `sh -c "exec gunicorn"` all run
// gunicorn. A process title set by setproctitle ("gunicorn: worker [shop]") counts as well.
export function programOf(file: string, args: string[]): string | undefined {
  const name = path.basename(file.split(/\s/)[0] ?? "").replace(/:$/, "");
  if (!INTERPRETER.test(name)) return name || undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "-m" && name.startsWith("python")) return args[i + 1];
    if (arg === "-c") {
      const words = args
        .slice(i + 1)
        .join(" ")
        .split(/\s+/)
        .filter(Boolean);
      if (words[0] === "exec") words.shift();
      return words[0] ? programOf(words[0], words.slice(1)) : undefined;
    }
    if (arg.startsWith("-") || (name === "env" && arg.includes("="))) continue;
    return programOf(arg, args.slice(i + 1));
  }
  return undefined;
}
