// Where the benchmark finds the built agent.
import path from "node:path";
import { fileURLToPath } from "node:url";

// dist/test/bench/ → dist/src/index.js
export const AGENT_CLI = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../src/index.js",
);
