// A read snapshot of the app's DB held open by the sqlite3 shell, running as the app user, while
// it copies the DB page for page (`.backup` inside the snapshot's own read transaction, so the
// copy is of exactly that snapshot and never restarts when the app writes).
//
// Why hold it: in WAL mode a reader's snapshot pins the write-ahead log. While the snapshot is
// open, no checkpoint may copy frames written after it into the DB file, and the log may not be
// restarted, truncated or deleted (not even by the app's last connection closing), so every page
// the app changes after the copy stays in the -wal file until the snapshot ends. After the app
// has stopped, that file holds the whole difference between the copy and the DB: laid beside the
// copy as its own -wal, SQLite's WAL recovery (checksummed frames, committed transactions only)
// brings the copy up to date. See precopy.ts.
//
// Only for a DB in WAL mode: in rollback-journal mode a held reader would block the app's writes.
// The shell is the app user's process, which the app user can stop or kill: every wait on it is
// bounded, and losing it only ever means "back up whole" (the caller's fallback).
import type { Writable } from "node:stream";
import { CommandError, run } from "../system/run.js";
import type { Credentials } from "./sqlite-cli.js";

export interface HeldSnapshot {
  // Resolves when the copy at `target` is complete (and the snapshot is still held).
  copied: Promise<void>;
  // Whether the shell still holds the snapshot: asked and answered, within a second.
  stillHolding(): Promise<boolean>;
  // End the snapshot: the shell quits and its read transaction with it; one that does not quit
  // within 3 s is killed. Resolves once it is gone.
  release(): Promise<void>;
}

export interface HoldOptions {
  // How long the copy may take before the shell is ended and `copied` fails.
  copyTimeoutMs: number;
  // How long the snapshot may be held after the copy: the shell's whole life is bounded by both.
  holdMs: number;
  // The snapshot is released as soon as the copy is made: then a shell that makes no progress
  // (stopped by its user) for 30 s is ended, as any other shell of the app user's.
  releaseAtOnce?: boolean;
}

const COPIED = "@@copied";
const HELD = "@@held";

// Start the shell on `db` as `owner`, open the snapshot and copy it to `target` (which must not
// exist; the shell creates it, so it is the owner's).
export function holdSnapshot(
  db: string,
  target: string,
  owner: Credentials,
  options: HoldOptions,
): HeldSnapshot {
  let stdin: Writable | undefined;
  let kill: (signal: NodeJS.Signals) => void = () => {};
  let said = "";
  const waiting = new Map<string, () => void>();
  const marker = (name: string) =>
    new Promise<void>((resolve) => {
      waiting.set(name, resolve);
    });
  const copiedSeen = marker(COPIED);
  // -readonly: the shell never writes the app's DB (and, read-only, never checkpoints it when it
  // quits); not -safe, which forbids .backup. -bail: the first error ends it.
  const shell = run(
    "sqlite3",
    ["-readonly", "-batch", "-bail", "-noheader", "-list", "-init", "/dev/null", db],
    {
      uid: owner.uid,
      gid: owner.gid,
      cleanEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      timeoutMs: options.copyTimeoutMs + options.holdMs,
      killAfterMs: 1_000,
      ...(options.releaseAtOnce ? { stallLimitMs: 30_000 } : {}),
      maxBuffer: 64 * 1024,
      onStdin: (input, signal) => {
        stdin = input;
        kill = signal;
        input.on("error", () => {});
        // BEGIN and a read of the schema open the read transaction: the snapshot. `.backup`
        // copies in it (the backup API uses a read transaction the source connection has).
        input.write(
          [
            // A locked DB (rollback-journal mode, an exclusive lock) is waited for 10 s at most.
            ".timeout 10000",
            "BEGIN;",
            "SELECT count(*) FROM sqlite_schema;",
            // --async: no journal and no fsync for this file. It is never kept as it is: root copies
            // it into a file of its own and flushes that one (staging.ts), so flushing this one
            // too only doubled the disk writes (about 0.3 s of 0.9 s for a 268 MB DB).
            `.backup --async main ${shellString(target)}`,
            `.print ${COPIED}`,
            "",
          ].join("\n"),
        );
      },
      onLine: (line, stream) => {
        const resolve = stream === "stdout" ? waiting.get(line) : undefined;
        if (resolve) {
          waiting.delete(line);
          resolve();
        } else {
          said = `${said}${line}\n`.slice(-2000);
        }
      },
    },
  );
  let running = true;
  const exited = shell.then(
    () => undefined,
    (error: unknown) => error,
  );
  void exited.then(() => {
    running = false;
  });
  let copyTimer: NodeJS.Timeout | undefined;
  const copied = Promise.race([
    copiedSeen,
    exited.then((error) => {
      const why =
        error instanceof CommandError
          ? error.message
          : `the sqlite3 shell ended before the copy was complete: ${said.trim() || "no output"}`;
      throw new Error(why);
    }),
    new Promise<never>((_, reject) => {
      copyTimer = setTimeout(() => {
        kill("SIGKILL");
        reject(
          new Error(`the copy took longer than ${Math.round(options.copyTimeoutMs / 1000)} s`),
        );
      }, options.copyTimeoutMs);
    }),
  ]).finally(() => clearTimeout(copyTimer));
  // The race above can settle on "exited" later (when the snapshot is released): never unhandled.
  copied.catch(() => {});
  return {
    copied,
    async stillHolding() {
      if (!running || !stdin) return false;
      const held = marker(HELD);
      stdin.write(`.print ${HELD}\n`);
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([
        held.then(() => true),
        exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 1_000);
        }),
      ]);
      clearTimeout(timer);
      return answered && running;
    },
    async release() {
      stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise((resolve) => {
          timer = setTimeout(resolve, 3_000);
        }),
      ]);
      clearTimeout(timer);
      if (running) kill("SIGKILL");
      await exited;
    },
  };
}

// A file name as the shell's dot-commands read it: in double quotes, backslash and quote escaped.
function shellString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
