// What a migration changed in the schema, in one line: blue-green never restores the DB on its
// own, so a failed migration is reported with the schema before and after, for the operator to
// decide (`agent restore`, a fix forward).
import type { AppConfig } from "../config/schema.js";
import { printable } from "../output/sanitize.js";
import { runAs } from "../system/accounts.js";
import { readSchema, type SchemaSummary } from "./sqlite-cli.js";

// The app's DB schema, read as the app user; undefined when there is no DB or it cannot be read.
export async function appSchema(app: AppConfig): Promise<SchemaSummary | undefined> {
  if (!app.database) return undefined;
  const owner = await runAs(app.user, app.group);
  return readSchema(app.database.path, { uid: owner.uid, gid: owner.gid }).catch(() => undefined);
}

// "schema before: user_version 1, 3 objects; after: user_version 2, 4 objects (+table refunds)".
export function describeSchemaChange(
  before: SchemaSummary | undefined,
  after: SchemaSummary | undefined,
): string {
  if (!before || !after) return "schema before/after not readable";
  const added = after.objects.filter((o) => !before.objects.includes(o));
  const removed = before.objects.filter((o) => !after.objects.includes(o));
  const diff = [...added.map((o) => `+${o}`), ...removed.map((o) => `-${o}`)];
  const shown = diff.length === 0 ? "no object added or removed" : diff.slice(0, 8).join(", ");
  const more = diff.length > 8 ? ` and ${diff.length - 8} more` : "";
  return printable(
    `schema before: user_version ${before.userVersion}, ${before.objects.length} objects; after: user_version ${after.userVersion}, ${after.objects.length} objects (${shown}${more})`,
    400,
  );
}
