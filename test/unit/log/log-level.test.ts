// The default log level follows where stderr goes: the journal gets info, anything else warn.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const LOG_MODULE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../src/log.js",
);
const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-log-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// The level a fresh process picks with stderr on `file` (its own fd, not a pipe) and `env`.
function levelWith(file: string, env: Record<string, string>): string {
  const script = `const { logger } = await import(${JSON.stringify(LOG_MODULE)}); console.log(logger.level);`;
  const fd = openSync(file, "w");
  try {
    return execFileSync("node", ["--input-type=module", "-e", script], {
      env: { ...process.env, JOURNAL_STREAM: "", DEPLOY_AGENT_LOG_LEVEL: "", ...env },
      stdio: ["ignore", "pipe", fd],
      encoding: "utf8",
    }).trim();
  } finally {
    closeSync(fd);
  }
}

test("stderr that is the stream JOURNAL_STREAM names: info", () => {
  const file = path.join(dir, "journal");
  closeSync(openSync(file, "w"));
  const { dev, ino } = statSync(file);
  assert.equal(levelWith(file, { JOURNAL_STREAM: `${dev}:${ino}` }), "info");
});

test("JOURNAL_STREAM inherited but stderr redirected elsewhere: warn", () => {
  const journal = path.join(dir, "journal2");
  closeSync(openSync(journal, "w"));
  const { dev, ino } = statSync(journal);
  assert.equal(levelWith(path.join(dir, "other"), { JOURNAL_STREAM: `${dev}:${ino}` }), "warn");
});

test("no journal (terminal, pipe, cron): warn; DEPLOY_AGENT_LOG_LEVEL overrides", () => {
  assert.equal(levelWith(path.join(dir, "plain"), {}), "warn");
  assert.equal(levelWith(path.join(dir, "plain"), { DEPLOY_AGENT_LOG_LEVEL: "debug" }), "debug");
});
