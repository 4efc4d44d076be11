// Imported first by unit tests whose code keeps state in the agent's state DB: its directory is
// a fresh one of the test's, not the host's /var/lib/deploy-agent (src/config/paths.ts reads the
// variable when it is first imported, so this module must come before any of the agent's).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

if (process.env.DEPLOY_AGENT_STATE_DIR === undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-state-"));
  process.env.DEPLOY_AGENT_STATE_DIR = dir;
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
}
