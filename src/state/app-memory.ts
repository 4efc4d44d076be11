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
