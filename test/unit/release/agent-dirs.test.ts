// The agent's directories must be root's alone; colors/ is one of them (a color's link is how a
// unit finds the code it runs as the app user).
import assert from "node:assert/strict";
import { chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { agentDirProblems, repairAgentDirs } from "../../../src/release/agent-dirs.js";
import { appLayout } from "../../../src/release/layout.js";

const isRoot = process.getuid?.() === 0;
const base = mkdtempSync(path.join(tmpdir(), "deploy-agent-agent-dirs-"));
after(() => rmSync(base, { recursive: true, force: true }));

test("colors/ owned by the app user is a problem, and --fix makes it root's", {
  skip: isRoot ? false : "needs root to chown",
}, async () => {
  const layout = appLayout({ dir: path.join(base, "owned") });
  mkdirSync(layout.colors, { recursive: true, mode: 0o755 });
  chownSync(layout.colors, 65534, 65534);
  const problems = await agentDirProblems(layout);
  assert.deepEqual(
    problems.map((p) => p.path),
    [layout.colors],
  );
  assert.match(problems[0]?.message ?? "", /colors is owned by uid 65534 .*only root may write/);
  assert.deepEqual(await repairAgentDirs(layout), [
    `chown root:root ${layout.colors} (was 65534:65534)`,
  ]);
  assert.deepEqual(await agentDirProblems(layout), []);
});

test("colors/ as a symlink is a problem, left for a person", {
  skip: isRoot ? false : "needs root",
}, async () => {
  const layout = appLayout({ dir: path.join(base, "linked") });
  mkdirSync(path.join(base, "elsewhere"), { recursive: true });
  mkdirSync(layout.dir, { recursive: true });
  symlinkSync(path.join(base, "elsewhere"), layout.colors);
  const problems = await agentDirProblems(layout);
  assert.deepEqual(
    problems.map((p) => p.message),
    [`${layout.colors} is a symlink, not a directory`],
  );
  await repairAgentDirs(layout);
  assert.ok(lstatSync(layout.colors).isSymbolicLink());
});
