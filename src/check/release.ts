// Check "release": `current` is a symlink to a complete release with a REVISION.
import { lstat, readFile, readlink, stat } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/schema.js";
import { type AppLayout, RELEASE_NAME } from "../release/layout.js";
import type { Check, CheckOutcome } from "./types.js";

export const releaseCheck: Check = {
  name: "release",
  run: (ctx) => inspectRelease(ctx.app, ctx.layout),
};

// Follow `current` and confirm it names a whole release: releases/<stamp>-<sha12>, with a
// REVISION and every linked shared path in place.
export async function inspectRelease(app: AppConfig, layout: AppLayout): Promise<CheckOutcome> {
  const critical = (summary: string, details: Record<string, unknown> = {}): CheckOutcome => ({
    status: "critical",
    summary,
    details,
  });
  const link = await lstat(layout.current).catch(() => undefined);
  if (!link) return critical(`${layout.current} is missing: no release is live`);
  if (!link.isSymbolicLink()) return critical(`${layout.current} is not a symlink`);
  const target = await readlink(layout.current);
  const dir = path.resolve(path.dirname(layout.current), target);
  const name = path.basename(dir);
  const details: Record<string, unknown> = { target, release: name };
  if (path.dirname(dir) !== layout.releases || !RELEASE_NAME.test(name)) {
    return critical(`current points at ${target}, not at a release in ${layout.releases}`, details);
  }
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    return critical(`current points at ${name}, which does not exist`, details);
  }
  const revision = (await readFile(path.join(dir, "REVISION"), "utf8").catch(() => "")).trim();
  details.revision = revision || null;
  if (!revision) return critical(`release ${name} has no REVISION: it is incomplete`, details);
  const broken = [];
  for (const linked of app.linked) {
    if (!(await stat(path.join(dir, linked)).catch(() => undefined))) broken.push(linked);
  }
  if (broken.length > 0) {
    details.brokenLinks = broken;
    return critical(`release ${name} lacks linked ${broken.join(", ")}`, details);
  }
  const sha12 = RELEASE_NAME.exec(name)?.[2] ?? "";
  if (!revision.startsWith(sha12)) {
    return {
      status: "warning",
      summary: `release ${name} has REVISION ${revision.slice(0, 12)}, not its own commit`,
      details,
    };
  }
  return { status: "ok", summary: name, details };
}
