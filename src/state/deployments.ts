// Deployments and their steps in the state DB: written before each step so that crash recovery
// knows how far an interrupted sync got, read back by `agent status` and `agent history`.
import { readFileSync } from "node:fs";
import type { StateDb } from "./state-db.js";

export type DeploymentOutcome =
  | "running"
  | "deployed"
  | "noop"
  | "rolled-back"
  | "failed"
  | "refused";
export type StepOutcome = "running" | "ok" | "failed" | "skipped";

export interface DeploymentRecord {
  id: number;
  app: string;
  startedAt: string;
  finishedAt: string | null;
  trigger: string;
  fromRelease: string | null;
  toRelease: string | null;
  revision: string | null;
  step: string | null;
  outcome: DeploymentOutcome;
  error: string | null;
  backupPath: string | null;
  migrated: boolean;
  dbRestored: boolean;
  keptCopy: string | null;
  // The deployment's undo had begun: recovery goes back, whatever step it was in.
  undoing: boolean;
  // "blue-green" (the color it brings into service) or null (restart).
  strategy: string | null;
  color: string | null;
  pid: number | null;
  bootId: string | null;
}

export interface StepRecord {
  step: string;
  startedAt: string;
  durationMs: number | null;
  outcome: StepOutcome;
  message: string | null;
}

// Fields a sync fills in as it goes.
export interface DeploymentUpdate {
  toRelease?: string;
  backupPath?: string | null;
  migrated?: boolean;
  dbRestored?: boolean;
  keptCopy?: string;
  undoing?: boolean;
  strategy?: string;
  color?: string;
}

// The kernel's id of this boot: a row written under another boot id belongs to a dead process.
export function currentBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

// Open a deployment row in state `running`, owned by this process.
export function createDeployment(
  db: StateDb,
  row: { app: string; trigger: string; fromRelease?: string; revision: string },
): number {
  const info = db
    .prepare(
      `INSERT INTO deployments (app, started_at, trigger, from_release, revision, outcome, pid, boot_id)
       VALUES (?, ?, ?, ?, ?, 'running', ?, ?)`,
    )
    .run(
      row.app,
      new Date().toISOString(),
      row.trigger,
      row.fromRelease ?? null,
      row.revision,
      process.pid,
      currentBootId(),
    );
  return Number(info.lastInsertRowid);
}

// Mark `step` as in progress, in one transaction, before the step touches anything.
export function beginStep(db: StateDb, deploymentId: number, step: string): number {
  return db.transaction(() => {
    db.prepare("UPDATE deployments SET step = ? WHERE id = ?").run(step, deploymentId);
    const info = db
      .prepare(
        "INSERT INTO deployment_steps (deployment_id, step, started_at, outcome) VALUES (?, ?, ?, 'running')",
      )
      .run(deploymentId, step, new Date().toISOString());
    return Number(info.lastInsertRowid);
  })();
}

// Close a step begun with beginStep.
export function endStep(
  db: StateDb,
  stepRowId: number,
  outcome: StepOutcome,
  durationMs: number,
  message?: string,
): void {
  db.prepare(
    "UPDATE deployment_steps SET outcome = ?, duration_ms = ?, message = ? WHERE rowid = ?",
  ).run(outcome, Math.round(durationMs), message ?? null, stepRowId);
}

// Record a step that ran before its deployment row existed (the fetch).
export function recordStep(
  db: StateDb,
  deploymentId: number,
  step: string,
  at: { startedAt: string; durationMs: number; outcome: StepOutcome; message?: string },
): void {
  db.prepare(
    "INSERT INTO deployment_steps (deployment_id, step, started_at, duration_ms, outcome, message) VALUES (?, ?, ?, ?, ?, ?)",
  ).run(
    deploymentId,
    step,
    at.startedAt,
    Math.round(at.durationMs),
    at.outcome,
    at.message ?? null,
  );
}

// Store progress facts recovery relies on (release name, backup path, migrated flag...).
export function updateDeployment(db: StateDb, id: number, update: DeploymentUpdate): void {
  const columns: Record<keyof DeploymentUpdate, string> = {
    toRelease: "to_release",
    backupPath: "backup_path",
    migrated: "migrated",
    dbRestored: "db_restored",
    keptCopy: "kept_copy",
    undoing: "undoing",
    strategy: "strategy",
    color: "color",
  };
  for (const [key, value] of Object.entries(update)) {
    const column = columns[key as keyof DeploymentUpdate];
    const stored = typeof value === "boolean" ? Number(value) : value;
    db.prepare(`UPDATE deployments SET ${column} = ? WHERE id = ?`).run(stored ?? null, id);
  }
}

// Close a deployment with its outcome (and the error that decided it).
export function finishDeployment(
  db: StateDb,
  id: number,
  outcome: Exclude<DeploymentOutcome, "running">,
  error?: string,
): void {
  db.prepare("UPDATE deployments SET outcome = ?, error = ?, finished_at = ? WHERE id = ?").run(
    outcome,
    error ?? null,
    new Date().toISOString(),
    id,
  );
}

interface DeploymentRow {
  id: number;
  app: string;
  started_at: string;
  finished_at: string | null;
  trigger: string;
  from_release: string | null;
  to_release: string | null;
  revision: string | null;
  step: string | null;
  outcome: DeploymentOutcome;
  error: string | null;
  backup_path: string | null;
  migrated: number;
  db_restored: number;
  kept_copy: string | null;
  undoing: number;
  strategy: string | null;
  color: string | null;
  pid: number | null;
  boot_id: string | null;
}

function fromRow(row: DeploymentRow): DeploymentRecord {
  return {
    id: row.id,
    app: row.app,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    trigger: row.trigger,
    fromRelease: row.from_release,
    toRelease: row.to_release,
    revision: row.revision,
    step: row.step,
    outcome: row.outcome,
    error: row.error,
    backupPath: row.backup_path,
    migrated: row.migrated === 1,
    dbRestored: row.db_restored === 1,
    keptCopy: row.kept_copy,
    undoing: row.undoing === 1,
    strategy: row.strategy,
    color: row.color,
    pid: row.pid,
    bootId: row.boot_id,
  };
}

// Deployments of an app still marked running, oldest first (after a crash: the interrupted ones).
export function runningDeployments(db: StateDb, app: string): DeploymentRecord[] {
  const rows = db
    .prepare("SELECT * FROM deployments WHERE app = ? AND outcome = 'running' ORDER BY id")
    .all(app) as DeploymentRow[];
  return rows.map(fromRow);
}

// Newest deployments of an app, newest first, optionally only those started after `since`.
export function listDeployments(
  db: StateDb,
  app: string,
  limit: number,
  since?: string,
): DeploymentRecord[] {
  const rows = db
    .prepare("SELECT * FROM deployments WHERE app = ? AND started_at >= ? ORDER BY id DESC LIMIT ?")
    .all(app, since ?? "", limit) as DeploymentRow[];
  return rows.map(fromRow);
}

// The steps of one deployment in the order they ran.
export function stepsOf(db: StateDb, deploymentId: number): StepRecord[] {
  const rows = db
    .prepare(
      "SELECT step, started_at, duration_ms, outcome, message FROM deployment_steps WHERE deployment_id = ? ORDER BY rowid",
    )
    .all(deploymentId) as {
    step: string;
    started_at: string;
    duration_ms: number | null;
    outcome: StepOutcome;
    message: string | null;
  }[];
  return rows.map((r) => ({
    step: r.step,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    message: r.message,
  }));
}

// The newest finished deployment that replaced `release` (moved `current` away from it): its
// backup is the DB as it was when that release was left.
export function deploymentLeaving(
  db: StateDb,
  app: string,
  release: string,
): DeploymentRecord | undefined {
  const row = db
    .prepare(
      "SELECT * FROM deployments WHERE app = ? AND from_release = ? AND outcome = 'deployed' ORDER BY id DESC LIMIT 1",
    )
    .get(app, release) as DeploymentRow | undefined;
  return row ? fromRow(row) : undefined;
}

// Whether any deployment from `id` on changed the DB and kept the change (a migration that
// stayed, or a DB put back by rollback/restore).
export function databaseChangedSince(db: StateDb, app: string, id: number): boolean {
  const row = db
    .prepare(
      "SELECT 1 FROM deployments WHERE app = ? AND id >= ? AND outcome = 'deployed' AND migrated = 1 LIMIT 1",
    )
    .get(app, id);
  return row !== undefined;
}

// Backups that interrupted deployments of the app will restore when recovered: never pruned.
export function backupsNeededForRecovery(db: StateDb, app: string): string[] {
  const rows = db
    .prepare(
      "SELECT backup_path FROM deployments WHERE app = ? AND outcome = 'running' AND backup_path IS NOT NULL",
    )
    .all(app) as { backup_path: string }[];
  return rows.map((r) => r.backup_path);
}
