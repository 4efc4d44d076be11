// Small per-app facts kept between runs, such as the NRestarts seen by the previous check.
import type { StateDb } from "./state-db.js";

export function recall(db: StateDb, app: string, key: string): string | undefined {
  const row = db.prepare("SELECT value FROM app_memory WHERE app = ? AND key = ?").get(app, key) as
    | { value: string }
    | undefined;
  return row?.value;
}

export function remember(db: StateDb, app: string, key: string, value: string): void {
  db.prepare(
    "INSERT INTO app_memory (app, key, value) VALUES (?, ?, ?) ON CONFLICT (app, key) DO UPDATE SET value = excluded.value",
  ).run(app, key, value);
}

export function forget(db: StateDb, app: string, key: string): void {
  db.prepare("DELETE FROM app_memory WHERE app = ? AND key = ?").run(app, key);
}

// Every fact of the app whose key starts with `prefix`, as [key, value] pairs.
export function memoriesOf(db: StateDb, app: string, prefix: string): [string, string][] {
  const rows = db
    .prepare("SELECT key, value FROM app_memory WHERE app = ? AND substr(key, 1, ?) = ?")
    .all(app, prefix.length, prefix) as { key: string; value: string }[];
  return rows.map((r) => [r.key, r.value]);
}
