// The child process that copies an SQLite database (`agent __sqlite-copy`, JSON on stdin): run
// as the app user for the app's DB, so SQLite opens `-wal` and `-shm` with the app user's rights,
// never root's; and apart from the daemon, so a copy of gigabytes never blocks its event loop.
import { open } from "node:fs/promises";
import Database from "better-sqlite3";

export interface CopySpec {
  source: string;
  target: string;
  // Journal mode of the copy: "delete" (a self-contained backup file) or "wal" (a DB to restore).
  journal: "delete" | "wal";
  // How long a locked source is waited for.
  busyTimeoutMs: number;
  // quick_check the copy here. Not for a backup: root checks its own copy of it anyway.
  verify: boolean;
}

export interface CopyResult {
  bytes: number;
  pages: number;
  // The page copy and the quick_check of the copy.
  copyMs: number;
  verifyMs: number;
}

// Copy every page in one step: SQLite restarts a step-wise backup whenever another connection
// writes the source, so small steps may never finish under steady writes. One step is one WAL
// read transaction, which does not block the app's writers.
const ALL_PAGES = 0x7fffffff;

// Copy, set the journal mode, quick_check and fsync the copy; throws with SQLite's own words.
export async function copyDatabase(spec: CopySpec): Promise<CopyResult> {
  const started = performance.now();
  const source = new Database(spec.source, {
    readonly: true,
    fileMustExist: true,
    timeout: spec.busyTimeoutMs,
  });
  let pages = 0;
  try {
    pages = (await source.backup(spec.target, { progress: () => ALL_PAGES })).totalPages;
  } finally {
    source.close();
  }
  const copied = performance.now();
  const copy = new Database(spec.target, { fileMustExist: true });
  try {
    copy.pragma(`journal_mode = ${spec.journal === "wal" ? "WAL" : "DELETE"}`);
    if (spec.verify) {
      // quick_check touches every page once; mmap saves copying each into the page cache.
      copy.pragma("mmap_size = 1073741824");
      const problems = (copy.pragma("quick_check") as Record<string, string>[])
        .map((row) => Object.values(row)[0])
        .filter((v) => v !== "ok");
      if (problems.length > 0) {
        throw new Error(`quick_check of the copy failed: ${problems.slice(0, 3).join("; ")}`);
      }
    }
  } finally {
    copy.close();
  }
  const verified = performance.now();
  const handle = await open(spec.target, "r+");
  let bytes: number;
  try {
    await handle.sync();
    bytes = (await handle.stat()).size;
  } finally {
    await handle.close();
  }
  return {
    bytes,
    pages,
    copyMs: Math.round(copied - started),
    verifyMs: Math.round(verified - copied),
  };
}

// The worker's main: spec on stdin, result (or error) as one JSON line on stdout.
export async function copyWorkerMain(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  try {
    const result = await copyDatabase(
      JSON.parse(Buffer.concat(chunks).toString("utf8")) as CopySpec,
    );
    process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
    return 0;
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: (error as Error).message })}\n`);
    return 1;
  }
}
