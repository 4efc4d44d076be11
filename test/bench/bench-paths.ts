// Where the benchmark finds the built agent.
import path from "node:path";
import { fileURLToPath } from "node:url";

// The bundle, as installed: dist/test/bench/ → dist/agent/agent.js
export const AGENT_CLI = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../agent/agent.js",
);
