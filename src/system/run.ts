// The one subprocess runner: every external command the agent starts goes through here. It bounds
// the command's time and output, and when the command ends (or its time is up) it ends the whole
// tree the command started, without ever waiting for a pipe that a leftover descendant still holds.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { constants } from "node:os";
import type { Writable } from "node:stream";
import { type Options as ExecaOptions, execa, type ResultPromise } from "execa";
import { cgroupPopulated } from "./cgroup.js";
import { HeadBuffer } from "./head-buffer.js";
import { TailBuffer } from "./tail-buffer.js";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  // Replace the environment instead of extending ours (hooks run with a clean env).
  cleanEnv?: boolean;
  input?: string;
  // Feed this file to the command's stdin.
  inputFile?: string;
  // Keep stdin open and hand it to the caller, who writes to it over time (a conversation with a
  // long-lived helper) and ends it when done; `signal` reaches the command's whole tree (its
  // scope or process group), for a helper that does not end when asked.
  onStdin?: (stdin: Writable, signal: (signal: NodeJS.Signals) => void) => void;
  timeoutMs?: number;
  uid?: number;
  gid?: number;
  // When false, a non-zero exit is returned rather than thrown.
  reject?: boolean;
  // Keep at most this many bytes of each stream: the tail, where errors are (default 16 MiB).
  maxBuffer?: number;
  // Keep the head of each stream instead: where a plugin's verdict is.
  keepHead?: boolean;
  // Called with each line of output as it arrives (hooks stream theirs to the journal).
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  // Open descriptors handed to the command as fd 3, 4, ...
  fds?: number[];
  // Fail (as a time-out) when the command makes no progress for this long: its processes are
  // kept stopped (SIGSTOP, a tracer), or read and write nothing (blocked opening a FIFO planted
  // where a file was expected). A process of the app user's can be made to do either by the app
  // user, and must not hold a run (the app stopped for it) until its time-out.
  stallLimitMs?: number;
  // Run the command in a transient systemd scope of this name (a cgroup): whatever it leaves
  // behind, even a descendant that started a session of its own (setsid, a daemonising hook), is
  // in that cgroup and is killed with it. Without systemd (unit tests) the process group is used.
  scope?: string;
  // With `scope`: that unit is a service systemd itself starts (`systemd-run --pipe --wait`), not a
  // scope under this process. The command then runs outside whatever sandbox this process has
  // (the daemon's NoNewPrivileges=, capability bounding set and read-only file system) exactly as
  // from a root shell: a Nagios plugin that gains a file capability or setuid (check_icmp,
  // check_dhcp) works on the daemon's schedule as it does from `agent check`. Its environment is
  // the service manager's plus `env` (which must not hold secrets: a unit's properties are
  // readable by every local user); stallLimitMs and onStdin, which need the command as our
  // own child, are not for it.
  asService?: boolean;
  // After SIGTERM on time-out, SIGKILL this much later (default 5 s).
  killAfterMs?: number;
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

// A command that failed: keeps the command, exit code, time-out flag and output.
export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const why = result.timedOut ? "timed out" : `exit ${result.exitCode}`;
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
    super(`${result.command}: ${why}${tail ? `\n${tail}` : ""}`);
    this.name = "CommandError";
  }
}

const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;
const DEFAULT_KILL_AFTER_MS = 5_000;
// How long output may still trickle in after the command exited before its pipes are cut: enough
// for the last buffered bytes, short enough that a descendant holding the pipe cannot stall us.
const EOF_GRACE_MS = 300;
// A line longer than this is passed on in pieces, so one endless line cannot fill the heap.
const MAX_LINE = 8192;

// Run a command to completion, or until its time is up, and return what it said.
export async function run(
  file: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const unit: TransientUnit | undefined =
    options.scope && systemdIsPid1()
      ? { name: options.scope, type: options.asService ? "service" : "scope" }
      : undefined;
  const [spawnFile, spawnArgs] = unit
    ? [SYSTEMD_RUN, transientArgs(unit, await systemdRunVersion(), file, args, options)]
    : [file, args];
  const child = execa(spawnFile, spawnArgs, execaOptions(options, !unit));
  const ender = treeEnder(child, unit);
  if (options.onStdin && child.stdin) options.onStdin(child.stdin, (s) => ender.signal(s));
  const out = collect(child, options);
  const killAfterMs = options.killAfterMs ?? DEFAULT_KILL_AFTER_MS;
  let timedOut = false;
  let termTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let stalled = false;
  const timeUp = () => {
    if (timedOut) return;
    timedOut = true;
    ender.signal("SIGTERM");
    killTimer = setTimeout(() => ender.signal("SIGKILL"), killAfterMs);
  };
  if (options.timeoutMs !== undefined) termTimer = setTimeout(timeUp, options.timeoutMs);
  const frozen =
    options.stallLimitMs !== undefined && child.pid !== undefined
      ? watchProgress(child.pid, options.stallLimitMs, () => {
          stalled = true;
          timeUp();
        })
      : undefined;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  // When the command itself has exited, nothing of its tree may outlive it: end the rest (run()
  // waits for that before it returns), give the pipes a moment to deliver what was written, then
  // cut them whoever still holds them.
  let endedRest: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      endedRest = ender.endRest();
      resolve();
    }),
  );
  void exited.then(async () => {
    clearTimeout(termTimer);
    clearTimeout(killTimer);
    await endedRest;
    // The grace timer must not outlive the race: a pending timer keeps a short CLI run alive.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([out.ended, new Promise((r) => (grace = setTimeout(r, EOF_GRACE_MS)))]);
    clearTimeout(grace);
    out.cut();
  });
  const settled = await child;
  clearTimeout(termTimer);
  clearTimeout(killTimer);
  frozen?.stop();
  // Unset when the command never started (nothing of it to end).
  await endedRest;
  const result: RunResult = {
    command: [file, ...args].join(" "),
    exitCode: exitCodeOf(exit, settled),
    stdout: out.stdout(),
    stderr: out.stderr(),
    timedOut,
    durationMs: Math.round(performance.now() - started),
  };
  if (stalled) {
    result.stderr =
      `${result.stderr}\nno progress for ${Math.round((options.stallLimitMs ?? 0) / 1000)}s (stopped, or blocked on a FIFO)`.trim();
  }
  if (!exit && settled.failed) {
    // The program could not be started at all (ENOENT, EACCES): say so plainly.
    result.stderr = settled.shortMessage ?? `cannot start ${file}`;
    result.exitCode = 127;
  }
  if ((options.reject ?? true) && (result.exitCode !== 0 || result.timedOut)) {
    throw new CommandError(result);
  }
  return result;
}

// Kill every process of a transient scope unit (a glob such as "deploy-agent-shop-*.scope" is
// accepted): what an interrupted run of a hook may have left behind. Never throws. systemd keeps
// a file for each transient unit in /run/systemd/transient while it exists: when none matches,
// there is nothing to kill and no systemctl to start (a no-op sync must cost little more than
// its fetch).
export async function killScopes(pattern: string): Promise<void> {
  if (!systemdIsPid1()) return;
  const matches = globMatcher(pattern);
  // No directory: no transient unit at all. Any other error: ask systemctl.
  const units = await readdir("/run/systemd/transient").catch((error: NodeJS.ErrnoException) =>
    error.code === "ENOENT" ? [] : undefined,
  );
  if (units && !units.some(matches)) return;
  await run("systemctl", ["kill", "--signal=SIGKILL", "--", pattern], {
    reject: false,
    timeoutMs: 10_000,
  });
}

// A test for unit names against a glob whose only wildcard is "*".
export function globMatcher(pattern: string): (name: string) => boolean {
  const parts = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  const regex = new RegExp(`^${parts.join(".*")}$`);
  return (name) => regex.test(name);
}

const SYSTEMD_RUN = "systemd-run";

// sd_booted(3): systemd is the service manager when /run/systemd/system exists.
function systemdIsPid1(): boolean {
  return existsSync("/run/systemd/system");
}

let version: Promise<number> | undefined;

// Ask systemd-run's version now, while the caller waits on something else (a deploy's git export):
// the first command run in a scope then does not wait for it.
export function prepareScopes(): void {
  if (systemdIsPid1()) void systemdRunVersion().catch(() => undefined);
}

function systemdRunVersion(): Promise<number> {
  version ??= run(SYSTEMD_RUN, ["--version"], { reject: false, timeoutMs: 10_000 }).then((result) =>
    Number(/^systemd (\d+)/.exec(result.stdout)?.[1] ?? 0),
  );
  return version;
}

// A transient unit a command runs in: a scope (the command is our child) or a service (systemd's).
export interface TransientUnit {
  name: string;
  type: "scope" | "service";
}

// The systemd-run arguments that run `file args` in `unit`, as the command would run on its own.
//
// `--scope`: systemd-run runs the command itself (stdio stays ours) inside a new scope unit.
// `--pipe --wait`: systemd runs it as a service, handed our stdio, and systemd-run waits for the
// unit to end and exits with the command's own exit status.
// Either way it is started as root and setpriv(1) then becomes the user: with no supplementary
// groups (root's group 0 must not come along into a hook), and the same way whatever systemd-run's
// own handling of --uid does in a given version. RuntimeMaxSec is a backstop for when this
// process dies before it could end the unit.
//
// The command line must reach the command as written ($HOME in a hook is its shell's to expand).
// The manager expands $VARIABLES in a service's command line, and systemd-run 254 and later in a
// scope's too, unless told not to (--expand-environment=no, 254 and later); before 254 a
// service's "$" is written "$$", the manager's escape for a literal dollar.
export function transientArgs(
  unit: TransientUnit,
  systemdVersion: number,
  file: string,
  args: string[],
  options: Pick<RunOptions, "timeoutMs" | "killAfterMs" | "uid" | "gid" | "env">,
): string[] {
  const budget = (options.timeoutMs ?? 3_600_000) + (options.killAfterMs ?? DEFAULT_KILL_AFTER_MS);
  const scopeArgv = [
    ...(systemdVersion >= 254 ? ["--expand-environment=no"] : []),
    ...(unit.type === "scope"
      ? ["--scope"]
      : [
          "--pipe",
          "--wait",
          // Started means exec(2) succeeded: a missing setpriv fails the start, not the check.
          "--service-type=exec",
          "--same-dir",
          ...Object.entries(options.env ?? {}).map(([key, value]) => `--setenv=${key}=${value}`),
        ]),
    "--quiet",
    "--collect",
    `--unit=${unit.name}`,
    `--property=RuntimeMaxSec=${Math.ceil(budget / 1000) + 30}`,
    // When that backstop stops the unit, SIGKILL follows SIGTERM as our own time-out would have,
    // not after systemd's default 90 s.
    `--property=TimeoutStopSec=${Math.ceil((options.killAfterMs ?? DEFAULT_KILL_AFTER_MS) / 1000)}s`,
  ];
  const become =
    options.uid !== undefined || options.gid !== undefined
      ? [
          "setpriv",
          ...(options.uid !== undefined ? [`--reuid=${options.uid}`] : []),
          ...(options.gid !== undefined ? [`--regid=${options.gid}`] : []),
          "--clear-groups",
          "--",
        ]
      : [];
  const argv = [...become, file, ...args];
  const escaped =
    unit.type === "service" && systemdVersion < 254
      ? argv.map((arg) => arg.replaceAll("$", "$$$$"))
      : argv;
  return [...scopeArgv, "--", ...escaped];
}

// What execa is told. `detached` makes the command the leader of a new process group and
// session: a terminal's Ctrl-C or hang-up reaches only the agent (which decides what to do), and
// the whole group can be signalled at once. Output is not buffered by execa but collected here.
function execaOptions(options: RunOptions, ownCredentials: boolean): ExecaOptions {
  const stdin =
    options.input !== undefined || options.inputFile || options.onStdin ? "pipe" : "ignore";
  return {
    cwd: options.cwd,
    env: options.env,
    extendEnv: !options.cleanEnv,
    input: options.input,
    inputFile: options.inputFile,
    uid: ownCredentials ? options.uid : undefined,
    gid: ownCredentials ? options.gid : undefined,
    detached: true,
    buffer: false,
    reject: false,
    stdio: [stdin, "pipe", "pipe", ...(options.fds ?? [])] as ExecaOptions["stdio"],
  };
}

interface TreeEnder {
  signal(signal: NodeJS.Signals): void;
  // After the command exited: SIGKILL to whatever of its tree is left.
  endRest(): Promise<void>;
}

// Signals the command's whole tree: its unit (every process in the cgroup), or its process group.
function treeEnder(child: ResultPromise, unit: TransientUnit | undefined): TreeEnder {
  const unitName = unit && `${unit.name}.${unit.type}`;
  const killScope = (signal: NodeJS.Signals) =>
    run("systemctl", ["kill", `--signal=${signal}`, "--", unitName ?? ""], {
      reject: false,
      timeoutMs: 10_000,
    });
  const killGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      // A negative pid names the process group the detached child leads.
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: the group is gone already, which is the goal.
    }
  };
  return {
    signal(signal) {
      // The command's own process group too, at once: the scope catches what left the group,
      // the group does not wait on a busy or failing systemctl.
      if (unitName) void killScope(signal);
      // A service's systemd-run (our child) waits for the unit to end and then says how the
      // command ended: it is killed only when the unit would not end (SIGKILL).
      if (unit?.type !== "service" || signal === "SIGKILL") killGroup(signal);
    },
    async endRest() {
      killGroup("SIGKILL");
      // A systemctl per hook run only when systemd's own files leave room for a survivor: most
      // commands leave nothing, and every process started costs a deploy time. Awaited: when
      // run() returns, nothing of the command may still write to what the caller uses next.
      if (unitName && (await unitMayHoldProcesses(unitName))) await killScope("SIGKILL");
    },
  };
}

// Whether the transient unit `unit` (NAME.scope, NAME.service) may still hold a process, read
// from systemd's and the kernel's files: no when its unit file in /run/systemd/transient is gone
// (the unit is, and its cgroup with it: a unit stays while its cgroup is populated), or when the
// unified hierarchy's cgroup.events says "populated 0". Not cgroup.procs: before Linux 5.3 it
// leaves out a process whose main thread exited while its other threads run on. Anything
// unclear is a yes.
async function unitMayHoldProcesses(unit: string): Promise<boolean> {
  if (!existsSync(`/run/systemd/transient/${unit}`)) return false;
  return (await cgroupPopulated(`/system.slice/${unit}`)) !== false;
}

interface Collected {
  stdout(): string;
  stderr(): string;
  // Resolves when both streams ended on their own.
  ended: Promise<void>;
  // Stop reading now: whoever still holds the write end, we do not wait for them.
  cut(): void;
}

// Gather the tail of each stream and pass complete lines to onLine.
function collect(child: ResultPromise, options: RunOptions): Collected {
  const max = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const streams = { stdout: child.stdout, stderr: child.stderr } as const;
  const buffer = () => (options.keepHead ? new HeadBuffer(max) : new TailBuffer(max));
  const tails = { stdout: buffer(), stderr: buffer() };
  const ends: Promise<void>[] = [];
  for (const name of ["stdout", "stderr"] as const) {
    const stream = streams[name];
    if (!stream) continue;
    let partial = "";
    stream.on("data", (chunk: Buffer) => {
      tails[name].push(chunk);
      if (!options.onLine) return;
      partial += chunk.toString("utf8");
      let newline = partial.indexOf("\n");
      while (newline !== -1 || partial.length > MAX_LINE) {
        const cut = newline !== -1 && newline < MAX_LINE ? newline : MAX_LINE;
        options.onLine(partial.slice(0, cut), name);
        partial = partial.slice(cut + (cut === newline ? 1 : 0));
        newline = partial.indexOf("\n");
      }
    });
    ends.push(
      new Promise<void>((resolve) => {
        const done = () => {
          if (partial && options.onLine) options.onLine(partial, name);
          partial = "";
          resolve();
        };
        stream.once("end", done);
        stream.once("close", done);
      }),
    );
  }
  return {
    stdout: () => tails.stdout.text(),
    stderr: () => tails.stderr.text(),
    ended: Promise.all(ends).then(() => undefined),
    cut: () => {
      for (const stream of Object.values(streams)) stream?.destroy();
    },
  };
}

// The exit code as a shell reports it: the code, or 128 + the signal's number.
function exitCodeOf(
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined,
  settled: { exitCode?: number; failed: boolean },
): number {
  if (exit?.code !== null && exit?.code !== undefined) return exit.code;
  if (exit?.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return settled.exitCode ?? (settled.failed ? 1 : 0);
}

// Watch a command's process group: when for `limitMs` one of its processes stays stopped (state T
// or t in /proc/PID/stat), or none of them reads or writes a byte (rchar + wchar in
// /proc/PID/io stand still), call `onStall` once. Sampled every two seconds.
function watchProgress(pgid: number, limitMs: number, onStall: () => void): { stop(): void } {
  let since: number | undefined;
  let lastIo = -1;
  const timer = setInterval(
    () => {
      const { stopped, io } = sampleGroup(pgid);
      const stuck = stopped || io === lastIo;
      lastIo = io;
      if (!stuck) {
        since = undefined;
        return;
      }
      since ??= Date.now();
      if (Date.now() - since >= limitMs) {
        clearInterval(timer);
        onStall();
      }
    },
    Math.min(2000, Math.max(100, limitMs / 4)),
  );
  return { stop: () => clearInterval(timer) };
}

// Whether a process of the group is stopped, and the bytes its processes have read and written.
// Fields after the command name (which may hold spaces and parentheses): state, ppid, pgrp.
function sampleGroup(pgid: number): { stopped: boolean; io: number } {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return { stopped: false, io: -2 };
  }
  let stopped = false;
  let io = 0;
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    if (fields[0] === "T" || fields[0] === "t") stopped = true;
    try {
      const text = readFileSync(`/proc/${name}/io`, "latin1");
      io +=
        Number(/^rchar: (\d+)/m.exec(text)?.[1] ?? 0) +
        Number(/^wchar: (\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      // Gone, or not ours to read: counts as no information, not as progress.
    }
  }
  return { stopped, io };
}
