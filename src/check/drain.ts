// The drain of a blue-green app's old color as other processes see it (`agent check`, `agent
// status`, the status endpoint): the deploy's record, and whether the process draining still runs.
import { readFile } from "node:fs/promises";
import { logger } from "../log.js";
import { type DrainRecord, drainOnRecord } from "../state/drain-record.js";
import { openStateDb, type StateDb } from "../state/state-db.js";
import { liveLockHolder } from "../system/lock.js";

export interface DrainInfo {
  record: DrainRecord;
  // The process that recorded the drain still runs: the drain is in progress. A record whose
  // process is gone belongs to a run that died mid-drain (the next sync recovers it).
  alive: boolean;
}

// The drain on record, read from `db`, or from the state DB opened for the purpose. Best-effort
// without one (not root, a read-only disk): no record is read as no drain, and says so in the log.
export async function readDrain(app: string, db?: StateDb): Promise<DrainInfo | undefined> {
  const record = db ? drainOnRecord(db, app) : recordFromStateDb(app);
  if (!record || !isDrainRecord(record)) return undefined;
  return { record, alive: await drainerAlive(app, record) };
}

function recordFromStateDb(app: string): DrainRecord | undefined {
  try {
    const db = openStateDb();
    try {
      return drainOnRecord(db, app);
    } finally {
      db.close();
    }
  } catch (error) {
    logger.debug({ app, err: error }, "state DB unavailable: no drain on record read");
    return undefined;
  }
}

// A record of the shape the deploy writes; anything else is not trusted with a pid.
function isDrainRecord(value: DrainRecord): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof value.color === "string" &&
    Number.isInteger(value.port) &&
    typeof value.since === "string" &&
    typeof value.timeoutMs === "number" &&
    Number.isInteger(value.pid) &&
    value.pid > 0
  );
}

// Clock ticks per second in /proc/PID/stat (USER_HZ): 100 on every Linux architecture Node runs on.
const USER_HZ = 100;
// A start time computed from the boot time (whole seconds, and the wall clock has been slewed
// since boot) may be off by seconds; a PID is reused far later than that, if ever.
const START_SLACK_MS = 30_000;

// Whether the process that recorded the drain still runs: its PID exists and started before the
// drain began, so a PID reused by a newer process is not taken for the drainer. A deploy drains
// under the app's lock, whose holder is known exactly (by its kernel start time): when the clocks
// disagree, a drainer that holds the lock still counts.
export async function drainerAlive(app: string, record: DrainRecord): Promise<boolean> {
  const started = await processStartedAt(record.pid);
  if (started === undefined) return false;
  const since = Date.parse(record.since);
  if (Number.isNaN(since) || started <= since + START_SLACK_MS) return true;
  return (await liveLockHolder(app))?.pid === record.pid;
}

// When a process started (ms since the epoch); undefined when there is no such process.
async function processStartedAt(pid: number): Promise<number | undefined> {
  try {
    const [stat, host] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile("/proc/stat", "utf8"),
    ]);
    // Fields after the command name, which may hold spaces and parentheses; starttime is field 22.
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(host)?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(bootSeconds)) return undefined;
    return bootSeconds * 1000 + (ticks * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}
