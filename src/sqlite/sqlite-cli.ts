// Look inside an SQLite file with the sqlite3 command-line shell, in a child process, as the
// user who owns the file: a root SQLite connection on the app's DB would open (and create, and
// write the wal-index into) whatever the app user put at `-wal` and `-shm`; and a quick_check of
// a multi-GB file must not block the daemon's event loop (and its watchdog) for minutes.
import { CommandError, run } from "../system/run.js";

export interface SqliteFacts {
  // quick_check's answer, one entry per line ("ok" when sound).
  quickCheck: string[];
  journalMode: string;
  tables: string[];
  // page_count * page_size: the size SQLite sees, whatever the file system says.
  bytes: number;
}

// The user a shell runs as: the app user for the app's DB; root (omitted) for files in root's own
// directories.
export interface Credentials {
  uid: number;
  gid: number;
}

export interface InspectOptions {
  // Run as this user (the app's DB); root when omitted (files in root's own directories).
  uid?: number;
  gid?: number;
  // How long a locked DB is waited for before giving up with "busy".
  busyTimeoutMs?: number;
  // Bound for the whole inspection (a quick_check reads every page).
  timeoutMs?: number;
}

// Why an inspection failed, in the terms a check reports.
export class SqliteError extends Error {
  constructor(
    message: string,
    readonly kind: "busy" | "corrupt" | "cannot-open" | "failed",
  ) {
    super(message);
    this.name = "SqliteError";
  }
}

// PRAGMA statements, not the pragma_* table functions: a view of that name in the DB (which the
// app user writes) would stand in for the function and could answer "ok" for a corrupt file. Each
// answer is a JSON array after a marker line the JSON cannot contain.
const FACTS_SCRIPT = [
  ".mode json",
  ".print @@quick",
  "PRAGMA quick_check;",
  ".print @@mode",
  "PRAGMA journal_mode;",
  ".print @@pages",
  "PRAGMA page_count;",
  ".print @@pagesize",
  "PRAGMA page_size;",
  ".print @@tables",
  "SELECT name FROM sqlite_schema WHERE type = 'table';",
  ".print @@end",
  "",
].join("\n");

// Open `file` read-only and report quick_check, journal mode, tables and size.
export async function inspectSqliteFile(
  file: string,
  options: InspectOptions = {},
): Promise<SqliteFacts> {
  let stdout: string;
  try {
    ({ stdout } = await run("sqlite3", sqliteArgs(file, options.busyTimeoutMs ?? 5_000), {
      input: FACTS_SCRIPT,
      uid: options.uid,
      gid: options.gid,
      cleanEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      timeoutMs: options.timeoutMs ?? 10 * 60_000,
      // The app user can SIGSTOP a process of its own: a frozen shell must not hold a check.
      stallLimitMs: 30_000,
      maxBuffer: 4 * 1024 * 1024,
    }));
  } catch (error) {
    throw classify(error, file);
  }
  const sections = splitSections(stdout);
  const column = <T>(section: string, key: string): T[] =>
    (sections.get(section) ?? []).map((row) => row[key] as T);
  return {
    quickCheck: column<string>("quick", "quick_check").map(String),
    journalMode: String(column<string>("mode", "journal_mode")[0] ?? ""),
    tables: column<string>("tables", "name").map(String),
    bytes:
      Number(column<number>("pages", "page_count")[0] ?? 0) *
      Number(column<number>("pagesize", "page_size")[0] ?? 0),
  };
}

// The schema in a few words: each table, index and view, and PRAGMA user_version (which many
// migration tools advance). Cheap, unlike inspectSqliteFile: no quick_check.
export interface SchemaSummary {
  objects: string[];
  userVersion: number;
}

const SCHEMA_SCRIPT = [
  ".mode json",
  ".print @@objects",
  "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'index', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY type, name;",
  ".print @@version",
  "PRAGMA user_version;",
  ".print @@end",
  "",
].join("\n");

export async function readSchema(
  file: string,
  options: InspectOptions = {},
): Promise<SchemaSummary> {
  let stdout: string;
  try {
    ({ stdout } = await run("sqlite3", sqliteArgs(file, options.busyTimeoutMs ?? 5_000), {
      input: SCHEMA_SCRIPT,
      uid: options.uid,
      gid: options.gid,
      cleanEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      timeoutMs: options.timeoutMs ?? 30_000,
      stallLimitMs: 30_000,
      maxBuffer: 1024 * 1024,
    }));
  } catch (error) {
    throw classify(error, file);
  }
  const sections = splitSections(stdout);
  const objects = (sections.get("objects") ?? []).map((row) => `${row.type} ${row.name}`);
  const userVersion = Number((sections.get("version") ?? [])[0]?.user_version ?? 0);
  return { objects, userVersion };
}

export interface CopyResult {
  bytes: number;
  // The copy, and the quick_check of the copy (by whoever verifies it).
  copyMs: number;
  verifyMs: number;
}

// Copy a database with `VACUUM INTO`: one read transaction (in WAL mode it does not block the
// app's writers, and unlike a step-wise backup it never restarts when they write), a consistent,
// compact, self-contained copy (rollback-journal mode). As `as` (the app user for its own DB, so
// SQLite opens the app's -wal and -shm with the app user's rights) or root. The target must not
// exist; it is created by the shell (and so owned by whoever ran it).
export async function vacuumInto(
  source: string,
  target: string,
  options: { as?: Credentials; busyTimeoutMs?: number; timeoutMs: number },
): Promise<number> {
  const started = performance.now();
  try {
    // Not -safe: it forbids ATTACH, which VACUUM INTO uses. The shell runs with the rights of the
    // DB's owner, so the DB's content cannot make it do more than that user could.
    await run("sqlite3", sqliteArgs(source, options.busyTimeoutMs ?? 10_000, false), {
      input: `VACUUM INTO ${sqlString(target)};`,
      uid: options.as?.uid,
      gid: options.as?.gid,
      cleanEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      timeoutMs: options.timeoutMs,
      stallLimitMs: 30_000,
      maxBuffer: 64 * 1024,
    });
  } catch (error) {
    throw classify(error, source);
  }
  return Math.round(performance.now() - started);
}

// Set the journal mode of a closed file in one of root's directories (a restored copy that is to
// be in WAL mode like the DB it replaces).
export async function setJournalMode(file: string, mode: "wal" | "delete"): Promise<void> {
  try {
    await run("sqlite3", ["-batch", "-bail", "-init", "/dev/null", file], {
      input: `PRAGMA journal_mode = ${mode === "wal" ? "WAL" : "DELETE"};`,
      cleanEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      timeoutMs: 60_000,
    });
  } catch (error) {
    throw classify(error, file);
  }
}

// Bring a copy in one of root's directories up to date with the -wal file laid beside it, and make
// it a self-contained rollback-journal file: SQLite's own WAL recovery reads the log (frames whose
// checksums hold, of committed transactions only), the checkpoint writes them into the file, and
// leaving WAL mode removes the -wal and -shm. Returns how many frames the log held; throws when
// the checkpoint could not take all of them.
export async function applyWalFile(file: string): Promise<number> {
  let stdout: string;
  try {
    ({ stdout } = await run("sqlite3", ["-batch", "-bail", "-init", "/dev/null", file], {
      input: "PRAGMA wal_checkpoint(FULL);\nPRAGMA journal_mode = DELETE;\n",
      cleanEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      timeoutMs: 10 * 60_000,
    }));
  } catch (error) {
    throw classify(error, file);
  }
  const [checkpoint = "", mode = ""] = stdout.trim().split("\n");
  const [busy, log, done] = checkpoint.split("|").map(Number);
  if (busy !== 0 || log === undefined || log !== done || Number.isNaN(log)) {
    throw new SqliteError(`${file}: the checkpoint took ${done} of ${log} frames`, "failed");
  }
  if (mode.trim() !== "delete") {
    throw new SqliteError(
      `${file}: still in ${mode.trim() || "an unknown"} journal mode`,
      "failed",
    );
  }
  return log;
}

// A string literal for SQL: single quotes doubled.
function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

// The rows printed after each "@@name" marker line, parsed; an empty answer prints nothing.
function splitSections(stdout: string): Map<string, Record<string, unknown>[]> {
  const sections = new Map<string, Record<string, unknown>[]>();
  let name: string | undefined;
  let text = "";
  const close = () => {
    if (name !== undefined)
      sections.set(name, text.trim() ? (JSON.parse(text) as Record<string, unknown>[]) : []);
  };
  for (const line of stdout.split("\n")) {
    if (line.startsWith("@@")) {
      close();
      name = line.slice(2).trim();
      text = "";
    } else {
      text += `${line}\n`;
    }
  }
  if (name !== "end")
    throw new SqliteError("the sqlite3 shell stopped before the end of its answer", "failed");
  return sections;
}

// -readonly: never write; -safe: no ATTACH, no writefile(), no extensions; -init /dev/null: the
// user's ~/.sqliterc is not read; -bail: stop at the first error.
function sqliteArgs(file: string, busyTimeoutMs: number, safe = true): string[] {
  return [
    "-readonly",
    ...(safe ? ["-safe"] : []),
    "-batch",
    "-bail",
    "-noheader",
    "-list",
    "-init",
    "/dev/null",
    "-cmd",
    `.timeout ${busyTimeoutMs}`,
    file,
  ];
}

// Turn the shell's complaint into a kind the checks judge: busy is "try later", not "broken".
function classify(error: unknown, file: string): SqliteError {
  if (!(error instanceof CommandError)) {
    return new SqliteError(`${file}: ${(error as Error).message}`, "failed");
  }
  const said = (error.result.stderr || error.result.stdout).trim().split("\n").slice(-2).join("; ");
  const why = said.replace(/^(Error|Parse error|Runtime error):\s*/i, "") || error.message;
  if (error.result.timedOut)
    return new SqliteError(`${file}: no answer within the time limit`, "failed");
  if (/locked|busy/i.test(said)) return new SqliteError(why, "busy");
  if (/not a database|malformed|corrupt/i.test(said)) return new SqliteError(why, "corrupt");
  if (/unable to open|readonly|permission|access/i.test(said))
    return new SqliteError(why, "cannot-open");
  return new SqliteError(why, "failed");
}
