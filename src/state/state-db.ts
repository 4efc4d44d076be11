// The agent's own SQLite state: deployments with their steps, and check results.
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { STATE_DIR } from "../config/paths.js";

export type StateDb = Database.Database;

// Schema versions, applied in order and recorded in user_version; append, never edit.
const MIGRATIONS: string[] = [
  `CREATE TABLE deployments (
     id INTEGER PRIMARY KEY,
     app TEXT NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     trigger TEXT NOT NULL,            -- cli, boot, poll, api, rollback
     from_release TEXT,
     to_release TEXT,
     revision TEXT,
     step TEXT,                        -- the step in progress (crash recovery reads this)
     outcome TEXT,                     -- running, deployed, noop, rolled-back, failed
     error TEXT,
     backup_path TEXT,                 -- the DB backup taken before the switch
     migrated INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX deployments_app ON deployments(app, id);
   CREATE TABLE deployment_steps (
     deployment_id INTEGER NOT NULL REFERENCES deployments(id),
     step TEXT NOT NULL,
     started_at TEXT NOT NULL,
     duration_ms INTEGER,
     outcome TEXT NOT NULL,            -- running, ok, failed, skipped
     message TEXT
   );
   CREATE INDEX deployment_steps_deployment ON deployment_steps(deployment_id);
   CREATE TABLE checks (
     id INTEGER PRIMARY KEY,
     app TEXT NOT NULL,
     at TEXT NOT NULL,
     trigger TEXT NOT NULL,            -- cli, schedule, sync
     status TEXT NOT NULL,
     duration_ms INTEGER NOT NULL,
     results TEXT NOT NULL             -- JSON array of {name,status,summary}
   );
   CREATE INDEX checks_app ON checks(app, id);
   CREATE TABLE app_memory (          -- small facts remembered between runs (e.g. last NRestarts)
     app TEXT NOT NULL,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (app, key)
   );`,
  // Sync bookkeeping that crash recovery needs: who ran the sync (pid and boot, so a holder that
  // died in a power cut is recognised), whether the DB was already put back during a rollback
  // (redoing it would lose the writes the old release took since), and the kept-aside copy of
  // the DB the failed release left.
  `ALTER TABLE deployments ADD COLUMN pid INTEGER;
   ALTER TABLE deployments ADD COLUMN boot_id TEXT;
   ALTER TABLE deployments ADD COLUMN db_restored INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE deployments ADD COLUMN kept_copy TEXT;`,
  // A failed deployment that has begun to undo itself (its undo runs the same named steps as a
  // deploy, so the step alone no longer says which way it was going), and for blue-green, the
  // strategy and the color the deployment brings into service.
  `ALTER TABLE deployments ADD COLUMN undoing INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE deployments ADD COLUMN strategy TEXT;
   ALTER TABLE deployments ADD COLUMN color TEXT;`,
  // Notifications waiting to be delivered (src/notify/queue.ts): the receiver's URL is never
  // stored, only a hash that names its target; `claimed_until` keeps two processes (a CLI sync
  // and the daemon) from sending one notification twice.
  `CREATE TABLE notifications (
     id INTEGER PRIMARY KEY,
     target TEXT NOT NULL,
     event TEXT NOT NULL,
     app TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_ms INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_ms INTEGER NOT NULL,
     claimed_until_ms INTEGER NOT NULL DEFAULT 0,
     last_error TEXT
   );
   CREATE INDEX notifications_due ON notifications(next_ms);`,
  // Trust in what is pulled and promotion across hosts (DESIGN.md "Promotion across hosts"): each
  // deployment's source (a hash of repo.url and branch, never the URL, which may hold a
  // credential) and the signer of its commit; every promotion push and how it ended.
  `ALTER TABLE deployments ADD COLUMN source TEXT;
   ALTER TABLE deployments ADD COLUMN signer TEXT;
   CREATE TABLE promotions (
     id INTEGER PRIMARY KEY,
     app TEXT NOT NULL,
     revision TEXT NOT NULL,
     branch TEXT NOT NULL,
     at TEXT NOT NULL,
     outcome TEXT NOT NULL,            -- promoted, failed, refused
     attempts INTEGER NOT NULL,
     message TEXT
   );
   CREATE INDEX promotions_app ON promotions(app, id);`,
];

// Open (creating if needed) the state DB in WAL mode with synchronous=FULL: its records are
// what crash recovery trusts after a power cut, so a committed step must be on disk.
export function openStateDb(dir: string = STATE_DIR): StateDb {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const db = new Database(path.join(dir, "state.db"), { timeout: BUSY_TIMEOUT_MS });
  useWal(db);
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  migrate(db);
  return db;
}

const BUSY_TIMEOUT_MS = 10_000;
const WAL_RETRY_MS = 20;

// Switching a fresh DB to WAL needs it to itself, and SQLite answers SQLITE_BUSY at once (the busy
// timeout does not apply) while another process is opening it too, as at first boot. Once one
// process has switched, the mode is persistent and the pragma no longer needs the lock.
function useWal(db: StateDb): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw error;
      // Synchronous like the rest of better-sqlite3: this runs once per process, at open.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAL_RETRY_MS);
    }
  }
}

// At first boot the boot sync and the daemon open a fresh state DB at the same moment. The version
// is read again inside an IMMEDIATE transaction (which takes the write lock, waiting out the busy
// timeout), so the second process finds the schema the first one applied instead of applying it
// again. An up-to-date DB, the usual case, takes no lock at all.
function migrate(db: StateDb): void {
  const current = () => db.pragma("user_version", { simple: true }) as number;
  if (current() >= MIGRATIONS.length) return;
  db.transaction(() => {
    for (let v = current(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
