// Check "database": the SQLite DB opens read-only, passes quick_check and has its tables. It is
// opened by the sqlite3 shell running as the app user (src/sqlite/sqlite-cli.ts): root's own
// SQLite connection would open whatever the app user put at `-wal` and `-shm`.
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { describeKind, lstatPath } from "../fs/entry.js";
import { companionProblem } from "../sqlite/companions.js";
import { type Credentials, inspectSqliteFile, SqliteError } from "../sqlite/sqlite-cli.js";
import { runAs } from "../system/accounts.js";
import { formatBytes } from "./format.js";
import type { Check, CheckOutcome } from "./types.js";

type DatabaseConfig = NonNullable<AppConfig["database"]>;

// How long a DB locked by a writer is waited for before the check says "busy" (a warning).
const BUSY_GIVE_UP_MS = 5_000;
// A quick_check reads every page; even gigabytes take less than this, and the daemon is not
// blocked meanwhile (it runs in a child process).
const CHECK_TIMEOUT_MS = 5 * 60_000;

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
    const owner = await runAs(ctx.app.user, ctx.app.group);
    return inspectDatabase(db, owner);
  },
};

// Open the DB read-only as `as` (root when omitted), check it, and judge the result.
export async function inspectDatabase(
  db: DatabaseConfig,
  as?: Credentials,
  busyGiveUpMs: number = BUSY_GIVE_UP_MS,
): Promise<CheckOutcome> {
  const details: Record<string, unknown> = { path: db.path };
  const found = await lstatPath(db.path).catch((error: Error) => error);
  if (found instanceof Error) return { status: "critical", summary: found.message, details };
  if (!found) return { status: "critical", summary: `${db.path}: missing`, details };
  if (!found.isFile()) {
    return {
      status: "critical",
      summary: `${db.path} is ${describeKind(found)}, not a database file`,
      details,
    };
  }
  const companions = await companionProblem(db.path);
  if (companions) return { status: "critical", summary: companions, details };
  try {
    const facts = await inspectSqliteFile(db.path, {
      uid: as?.uid,
      gid: as?.gid,
      busyTimeoutMs: busyGiveUpMs,
      timeoutMs: CHECK_TIMEOUT_MS,
    });
    const wal = await lstatPath(`${db.path}-wal`).catch(() => undefined);
    return judgeDatabase({
      path: db.path,
      bytes: facts.bytes,
      walBytes: wal?.isFile() ? wal.size : 0,
      journalMode: facts.journalMode,
      quickCheck: facts.quickCheck,
      missingTables: db.tables.filter((t) => !facts.tables.includes(t)),
    });
  } catch (error) {
    const message = (error as Error).message;
    const kind = error instanceof SqliteError ? error.kind : "failed";
    if (kind === "busy") {
      return {
        status: "warning",
        summary: `busy for ${busyGiveUpMs} ms, not checked: ${message}`,
        details: { ...details, error: message },
      };
    }
    const opener = as ? " as the app user" : "";
    const what =
      kind === "corrupt"
        ? "corrupt"
        : kind === "cannot-open"
          ? `cannot open${opener}`
          : "cannot read";
    return {
      status: "critical",
      summary: `${what}: ${message}`,
      details: { ...details, error: message, name: path.basename(db.path) },
    };
  }
}

// Judge what was read.
export function judgeDatabase(facts: DatabaseFacts): CheckOutcome {
  const details = { ...facts };
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
