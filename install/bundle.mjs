// Second half of `npm run build`: bundle the CLI into dist/agent/, the program that is installed
// and run. Why: `agent check` runs every 15 minutes and from monitoring systems, and on Node 20
// (no module compile cache) loading hundreds of separate ES modules of zod, execa, yaml and
// commander, parsing and compiling them on every start, cost more than the checks themselves.
//   dist/agent/agent.js          the launcher (src/launcher/launch.ts), a few lines of CommonJS
//   dist/agent/agent-main.cjs    everything else, one CommonJS file
// The code caches are made at run time (src/launcher/launch.ts). tsc's dist/src/ stays for the
// unit tests; dist/agent/ is what `agent` executes.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist/agent", { recursive: true, force: true });
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
};
await build({
  ...common,
  entryPoints: { "agent-main": "src/cli/main.ts" },
  outdir: "dist/agent",
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  sourcemap: true,
  // Native addons load their .node files relative to their own package, so they stay in
  // node_modules and are resolved from there at run time.
  external: ["better-sqlite3", "sd-notify"],
  // The sources are ES modules that find files next to themselves through import.meta.url.
  define: { "import.meta.url": "__agentModuleUrl" },
  // The file is the CommonJS module wrapper itself, so the launcher compiles it as it is (no
  // second megabyte-long string joined around it on every start).
  banner: {
    js: '(function (exports, require, module, __filename, __dirname) {"use strict";var __agentModuleUrl = require("node:url").pathToFileURL(__filename).href;',
  },
  footer: { js: "})" },
});
await build({
  ...common,
  entryPoints: { agent: "src/launcher/launch.ts" },
  outdir: "dist/agent",
  // CommonJS too: Node's ES module loader costs about 10 ms more to start, on every run.
  format: "cjs",
  define: { "import.meta.url": "__agentModuleUrl" },
  banner: { js: '"use strict";var __agentModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// The package is "type": "module"; this makes dist/agent/*.js CommonJS, as they now are.
writeFileSync("dist/agent/package.json", `${JSON.stringify({ type: "commonjs" })}\n`);
// The launcher reads the bundle as latin1, which is only right for ASCII: esbuild escapes every
// other character (its default charset), and this makes sure it did.
if (readFileSync("dist/agent/agent-main.cjs").some((byte) => byte > 0x7f)) {
  throw new Error("dist/agent/agent-main.cjs is not ASCII");
}
