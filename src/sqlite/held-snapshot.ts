// A read snapshot of the app's DB held open by the sqlite3 shell, running as the app user, while
// it copies the DB page for page (`.backup` inside the snapshot's own read transaction, so the
// copy is of exactly that snapshot and never restarts when the app writes).
//
// Why hold it: in WAL mode a reader's snapshot pins the write-ahead log. While the snapshot is
// open, no checkpoint may copy frames written after it into the DB file, and the log may not be
// restarted or truncated, so every page the app changes after the copy stays in the -wal file
// until the snapshot ends. After the app has stopped, that file holds the whole difference
// between the copy and the DB: laid beside the copy as its own -wal, SQLite's WAL recovery
// (checksummed frames, committed transactions only) brings the copy up to date. See precopy.ts.
//
// Only for a DB in WAL mode: in rollback-journal mode a held reader would block the app's writes.
import type { Writable } from "node:stream";
import { CommandError, run } from "../system/run.js";
import type { Credentials } from "./sqlite-cli.js";

export interface HeldSnapshot {
  // Resolves when the copy at `target` is complete (and the snapshot is still held).
  copied: Promise<void>;
  // Whether the shell is still running, so the snapshot still held.
  holding(): boolean;
  // End the snapshot: the shell quits and its read transaction with it. Resolves once it exited.
  release(): Promise<void>;
}

const COPIED = "@@copied";

// Start the shell on `db` as `owner`, open the snapshot and copy it to `target` (which must not
// exist; the shell creates it, so it is the owner's). `timeoutMs` bounds the shell's whole life:
// a snapshot is never held for longer, whatever becomes of the agent.
export function holdSnapshot(
  db: string,
  target: string,
  owner: Credentials,
  timeoutMs: number,
): HeldSnapshot {
  let stdin: Writable | undefined;
  let running = true;
  let onCopied: () => void = () => {};
  let said = "";
  const copiedSeen = new Promise<void>((resolve) => {
    onCopied = resolve;
  });
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
      timeoutMs,
      killAfterMs: 1_000,
      maxBuffer: 64 * 1024,
      onStdin: (input) => {
        stdin = input;
        input.on("error", () => {});
      },
      onLine: (line, stream) => {
        if (stream === "stdout" && line === COPIED) onCopied();
        else said = `${said}${line}\n`.slice(-2000);
      },
    },
  );
  const exited = shell.then(
    () => undefined,
    (error: unknown) => error,
  );
  void exited.then(() => {
    running = false;
  });
  // BEGIN and a read of the schema open the read transaction: the snapshot. `.backup` copies in
  // it (the backup API uses a read transaction the source connection already has).
  stdin?.write(
    [
      // A locked DB (rollback-journal mode, an exclusive lock) is waited for 10 s at most.
      ".timeout 10000",
      "BEGIN;",
      "SELECT count(*) FROM sqlite_schema;",
      `.backup main ${shellString(target)}`,
      `.print ${COPIED}`,
      "",
    ].join("\n"),
  );
  const copied = Promise.race([
    copiedSeen,
    exited.then((error) => {
      const why =
        error instanceof CommandError
          ? error.message
          : `the sqlite3 shell ended before the copy was complete: ${said.trim() || "no output"}`;
      throw new Error(why);
    }),
  ]);
  // The race above can settle on "exited" later (when the snapshot is released): never unhandled.
  copied.catch(() => {});
  return {
    copied,
    holding: () => running,
    async release() {
      stdin?.end();
      await exited;
    },
  };
}

// A file name as the shell's dot-commands read it: in double quotes, backslash and quote escaped.
function shellString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
