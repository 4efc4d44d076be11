// The per-app lock with real processes: one winner of a stale lock, freed at once by SIGKILL,
// refusals naming the holder, and no symlink, FIFO, directory or hard link ever followed.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { LockHeldError } from "../../../src/errors.js";
import { run } from "../../../src/system/run.js";

// RUN_DIR is read when config/paths.js is first imported: point it at a temporary directory first.
const runDir = mkdtempSync(path.join(tmpdir(), "deploy-agent-lock-"));
process.env.DEPLOY_AGENT_RUN_DIR = runDir;
const { acquireLock, liveLockHolder, lockPath, readLockHolder } = await import(
  "../../../src/system/lock.js"
);
after(() => rmSync(runDir, { recursive: true, force: true }));

const LOCK_MODULE = new URL("../../../src/system/lock.js", import.meta.url).href;

// A separate node process that takes the lock on "go", gives it back on "release", and exits
// (the kernel then drops a lock it still holds) when its stdin closes.
const WORKER = `
import { createInterface } from "node:readline";
const { acquireLock } = await import(process.env.LOCK_MODULE);
const say = (event) => process.stdout.write(JSON.stringify(event) + "\\n");
let held;
const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (line === "release") {
    await held?.release();
    held = undefined;
    say({ event: "released" });
    return;
  }
  try {
    held = await acquireLock(process.env.LOCK_APP, process.env.LOCK_COMMAND);
    say({ event: "win" });
  } catch (error) {
    say({ event: "lose", exitCode: error.exitCode, message: error.message });
  }
});
lines.on("close", () => process.exit(0));
say({ event: "ready" });
`;

interface WorkerEvent {
  event: "ready" | "win" | "lose" | "released";
  exitCode?: number;
  message?: string;
}

interface Worker {
  child: ChildProcess;
  pid: number;
  next(): Promise<WorkerEvent>;
  exited: Promise<void>;
}

// Start a worker for the app and wait until it has loaded the lock module.
async function startWorker(app: string, command: string): Promise<Worker> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", WORKER], {
    env: { ...process.env, LOCK_MODULE, LOCK_APP: app, LOCK_COMMAND: command },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const queue: WorkerEvent[] = [];
  const waiting: ((event: WorkerEvent) => void)[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const event = JSON.parse(line) as WorkerEvent;
    const waiter = waiting.shift();
    if (waiter) waiter(event);
    else queue.push(event);
  });
  const next = () => {
    const queued = queue.shift();
    return queued ? Promise.resolve(queued) : new Promise<WorkerEvent>((r) => waiting.push(r));
  };
  assert.equal((await next()).event, "ready");
  return { child, pid: child.pid ?? 0, next, exited };
}

// Tell a worker to take the lock and wait for its verdict.
async function take(worker: Worker): Promise<WorkerEvent> {
  worker.child.stdin?.write("go\n");
  return worker.next();
}

// Let a worker exit (closing its descriptor, so a lock it held is freed) and wait for it.
async function stop(worker: Worker): Promise<void> {
  worker.child.stdin?.end();
  await worker.exited;
}

// The lock file a holder killed mid-run leaves behind: its JSON, naming a process now dead.
async function plantStaleLock(app: string): Promise<void> {
  const dead = await run("sh", ["-c", "echo $$"]);
  const holder = { pid: Number(dead.stdout), startTicks: "1", command: "sync", since: "x" };
  writeFileSync(lockPath(app), JSON.stringify(holder));
}

test("two processes taking over a stale lock at the same instant: exactly one wins, 50 rounds", async (t) => {
  const app = "race";
  // Two long-lived processes, so the rounds measure the race rather than node's start-up.
  const workers = await Promise.all([startWorker(app, "racer-a"), startWorker(app, "racer-b")]);
  let namedTheWinner = 0;
  try {
    for (let round = 0; round < 50; round++) {
      rmSync(lockPath(app), { force: true });
      // Every third round there is no file at all, so both race to create it too.
      if (round % 3 !== 2) await plantStaleLock(app);
      // Both are told in the same tick; each then opens, flocks and writes on its own.
      const verdicts = await Promise.all(workers.map(take));
      const winners = verdicts.filter((v) => v.event === "win");
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(verdicts)}`);
      const loser = verdicts.find((v) => v.event === "lose");
      assert.equal(loser?.exitCode, 75, JSON.stringify(loser));
      assert.match(loser?.message ?? "", /^race is locked by /);
      const winner = workers[verdicts.indexOf(winners[0] as WorkerEvent)] as Worker;
      if (loser?.message?.includes(`(pid ${winner.pid},`)) namedTheWinner++;
      winner.child.stdin?.write("release\n");
      assert.equal((await winner.next()).event, "released");
    }
  } finally {
    await Promise.all(workers.map(stop));
  }
  t.diagnostic(`the loser named the winner in ${namedTheWinner} of 50 rounds`);
});

test("a holder killed with SIGKILL frees the lock at once", async () => {
  const app = "killed";
  const holder = await startWorker(app, "sync");
  assert.equal((await take(holder)).event, "win");
  assert.equal((await liveLockHolder(app))?.pid, holder.pid);
  holder.child.kill("SIGKILL");
  await holder.exited;
  // Its JSON stays behind, but names a dead process: readers see the lock free.
  assert.equal((await readLockHolder(app))?.pid, holder.pid);
  assert.equal(await liveLockHolder(app), undefined);
  const started = performance.now();
  const lock = await acquireLock(app, "sync");
  assert.ok(performance.now() - started < 1000, "taken without waiting");
  assert.equal((await liveLockHolder(app))?.pid, process.pid);
  await lock.release();
});

test("a held lock refuses a second taker, in another process or this one, naming the holder", async () => {
  const app = "held";
  const holder = await startWorker(app, "sync");
  assert.equal((await take(holder)).event, "win");
  const recorded = await readLockHolder(app);
  assert.ok(recorded);
  await assert.rejects(
    acquireLock(app, "rollback"),
    (error: unknown) =>
      error instanceof LockHeldError &&
      error.exitCode === 75 &&
      error.message === `held is locked by sync (pid ${holder.pid}, since ${recorded.since})`,
  );
  await stop(holder);

  // flock(2) locks belong to an open file description: a second open in this process conflicts.
  const lock = await acquireLock(app, "backup");
  const mine = await readLockHolder(app);
  await assert.rejects(
    acquireLock(app, "sync"),
    (error: unknown) =>
      error instanceof LockHeldError &&
      error.message === `held is locked by backup (pid ${process.pid}, since ${mine?.since})`,
  );
  // Nothing this process starts inherits the descriptor (it would keep the lock past our death).
  const fds = await run("sh", ["-c", "ls -l /proc/$$/fd"]);
  assert.doesNotMatch(fds.stdout, /held\.lock/);
  await lock.release();
  await lock.release();
  assert.equal(readFileSync(lockPath(app), "utf8"), "", "release empties the file");
  assert.equal(await readLockHolder(app), undefined);
  await (await acquireLock(app, "sync")).release();
});

test("a symlink at the lock path is refused and its target untouched, even a dangling one", async () => {
  const target = path.join(runDir, "precious");
  writeFileSync(target, "precious\n", { mode: 0o600 });
  symlinkSync(target, lockPath("linked"));
  await assert.rejects(acquireLock("linked", "sync"), /refusing .*linked\.lock.*symbolic link/);
  assert.equal(readFileSync(target, "utf8"), "precious\n");
  assert.equal(lstatSync(target).mode & 0o777, 0o600);
  assert.ok(lstatSync(lockPath("linked")).isSymbolicLink());
  assert.equal(await readLockHolder("linked"), undefined);

  const nowhere = path.join(runDir, "created-through-link");
  symlinkSync(nowhere, lockPath("dangling"));
  await assert.rejects(acquireLock("dangling", "sync"), /symbolic link/);
  assert.throws(() => lstatSync(nowhere), { code: "ENOENT" });
});

test("a directory, a FIFO or a hard link at the lock path is refused; readers do not block", async () => {
  mkdirSync(lockPath("dir"));
  await assert.rejects(acquireLock("dir", "sync"), /refusing .* it is a directory/);

  await run("mkfifo", [lockPath("fifo")]);
  await assert.rejects(acquireLock("fifo", "sync"), /refusing .* it is a FIFO/);
  assert.equal(await liveLockHolder("fifo"), undefined);

  const target = path.join(runDir, "other");
  writeFileSync(target, "other\n");
  linkSync(target, lockPath("hard"));
  await assert.rejects(acquireLock("hard", "sync"), /refusing .* 2 hard links/);
  assert.equal(readFileSync(target, "utf8"), "other\n");
});
