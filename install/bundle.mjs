// Second half of `npm run build`: bundle the CLI into dist/agent/, the program that is installed
// and run. Why: `agent check` runs every 15 minutes and from monitoring systems, and on Node 20
// (no module compile cache) loading ~400 separate ES module files of zod, execa, yaml and
// commander cost more than the checks themselves: ~430 ms to the first check against ~200 ms
// bundled. tsc's dist/src/ stays for the unit tests; dist/agent/ is what `agent` executes.
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Chunk names carry content hashes: clear out the previous build's, which nothing imports any more.
rmSync("dist/agent", { recursive: true, force: true });
await build({
  entryPoints: { agent: "src/index.ts" },
  outdir: "dist/agent",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Each command is a dynamic import in src/cli/program.ts; splitting keeps `agent check` from
  // parsing the daemon's HTTP server or the sync engine.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // Native addons load their .node files relative to their own package, so they stay in
  // node_modules and are resolved from there at run time.
  external: ["better-sqlite3", "sd-notify"],
  // Bundled CommonJS dependencies (commander, pino, simple-git) call require(); ES module output
  // has none, so give each chunk one.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  logLevel: "warning",
});
