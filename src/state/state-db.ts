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
];

// Open (creating if needed) the state DB in WAL mode with synchronous=FULL: its records are
// what crash recovery trusts after a power cut, so a committed step must be on disk.
export function openStateDb(dir: string = STATE_DIR): StateDb {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const db = new Database(path.join(dir, "state.db"), { timeout: 10_000 });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  migrate(db);
  return db;
}

function migrate(db: StateDb): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
