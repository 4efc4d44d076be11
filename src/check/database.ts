// Check "database": the SQLite DB opens read-only, passes quick_check and has its tables.
import { stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import type { AppConfig } from "../config/schema.js";
import { formatBytes } from "./format.js";
import type { Check, CheckOutcome } from "./types.js";

type DatabaseConfig = NonNullable<AppConfig["database"]>;

// Busy handling: short busy timeouts with pauses between attempts rather than one long one,
// because better-sqlite3 is synchronous and a long busy wait would freeze the other checks
// (their HTTP time-outs would fire on a blocked event loop).
const BUSY_TIMEOUT_MS = 200;
const BUSY_PAUSE_MS = 100;
const BUSY_GIVE_UP_MS = 5_000;

export interface DatabaseFacts {
  path: string;
  bytes: number;
  walBytes: number;
  journalMode: string;
  quickCheck: string[];
  missingTables: string[];
}

export const databaseCheck: Check = {
  name: "database",
  async run(ctx) {
    const db = ctx.app.database;
    if (!db) return { status: "ok", summary: "not configured", details: {} };
    return inspectDatabase(db);
  },
};

// Open the DB read-only, check it, and judge the result.
export async function inspectDatabase(
  db: DatabaseConfig,
  giveUpMs: number = BUSY_GIVE_UP_MS,
): Promise<CheckOutcome> {
  const details: Record<string, unknown> = { path: db.path };
  const info = await stat(db.path).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    const why = info.code === "ENOENT" ? "missing" : info.message;
    return { status: "critical", summary: `${db.path}: ${why}`, details };
  }
  const deadline = Date.now() + giveUpMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const facts = readFacts(db.path, db.tables);
      facts.walBytes = (await stat(`${db.path}-wal`).catch(() => undefined))?.size ?? 0;
      return judgeDatabase({ ...facts, bytes: info.size }, attempt);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      if (isBusy(code) && Date.now() < deadline) {
        await sleep(BUSY_PAUSE_MS);
        continue;
      }
      const message = (error as Error).message;
      if (isBusy(code)) {
        return {
          status: "warning",
          summary: `busy for ${giveUpMs} ms, not checked: ${message}`,
          details: { ...details, error: message, attempts: attempt },
        };
      }
      return {
        status: "critical",
        summary: `${describeSqliteError(code)}: ${message}`,
        details: { ...details, error: message, code },
      };
    }
  }
}

// Run the read-only inspection; throws SQLite's error (with its code) on failure.
function readFacts(file: string, tables: string[]): DatabaseFacts {
  // readonly: the check must never write. Opening a WAL database may still create -wal/-shm;
  // run as root, SQLite's unix VFS chowns them to the DB file's owner, so the app (not root)
  // keeps owning them (the integration test asserts this).
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    const quickCheck = (db.pragma("quick_check") as Record<string, string>[]).map(
      (row) => Object.values(row)[0] ?? "",
    );
    const present = new Set(
      (
        db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as {
          name: string;
        }[]
      ).map((r) => r.name),
    );
    return {
      path: file,
      bytes: 0,
      walBytes: 0,
      journalMode: String(db.pragma("journal_mode", { simple: true })),
      quickCheck,
      missingTables: tables.filter((t) => !present.has(t)),
    };
  } finally {
    db.close();
  }
}

// Judge what was read.
export function judgeDatabase(facts: DatabaseFacts, attempts = 1): CheckOutcome {
  const details = { ...facts, attempts };
  const size = `${formatBytes(facts.bytes)}${facts.walBytes > 0 ? ` + WAL ${formatBytes(facts.walBytes)}` : ""}`;
  const problems = facts.quickCheck.filter((line) => line !== "ok");
  if (problems.length > 0) {
    return {
      status: "critical",
      summary: `quick_check failed: ${problems.slice(0, 3).join("; ")}`,
      details,
    };
  }
  if (facts.missingTables.length > 0) {
    return {
      status: "critical",
      summary: `missing table${facts.missingTables.length === 1 ? "" : "s"}: ${facts.missingTables.join(", ")}`,
      details,
    };
  }
  return { status: "ok", summary: `quick_check ok, ${facts.journalMode}, ${size}`, details };
}

// SQLITE_BUSY and SQLITE_LOCKED (and their extended codes) mean "try again", not "broken".
function isBusy(code: string): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(code);
}

// Say what an SQLite error code means for the operator.
function describeSqliteError(code: string): string {
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return "corrupt";
  if (/^SQLITE_(CANTOPEN|PERM|AUTH|READONLY)/.test(code)) return "cannot open";
  return "cannot read";
}
