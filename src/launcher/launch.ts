#!/usr/bin/env node
// dist/agent/agent.js, the program `agent` runs. It loads the bundle (dist/agent/agent-main.cjs:
// every module of the agent and its libraries in one CommonJS file) through vm.Script with the
// command's code cache, and runs its main(). One file compiled from a cache, instead of hundreds
// of ES modules parsed, linked and compiled on every start, is most of what makes `agent check`
// quick on Node 20, which has no compile cache of its own.
//
// The caches live in /var/cache/deploy-agent/code/ (root's, 0700), one per command, and are made
// by the first run of each command as root after an install or upgrade: that run compiles as
// usual and then writes what V8 compiled. A stale, damaged or untrusted cache is ignored (see
// code-cache.ts). DEPLOY_AGENT_CODE_CACHE=off runs without one. The same runs may remember
// their validated config next to them (/var/cache/deploy-agent/config/, see
// src/config/remembered.ts): the launcher passes the bundle's hash on for that.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { commandIn } from "../cli/command-names.js";
import { cacheDir, readCacheFile, sha256, writeCacheFile } from "../fs/root-cache.js";
import { cacheKey } from "./code-cache.js";
import { setStartCaches } from "./start-caches.js";

interface AgentMain {
  main(argv: string[]): Promise<void>;
}

const CACHE_DIR = process.env.DEPLOY_AGENT_CODE_CACHE_DIR ?? "/var/cache/deploy-agent/code";

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.join(here, "agent-main.cjs");
const argv = process.argv.slice(2);
// The daemon runs for days: its start does not matter, and its sandbox cannot write the cache.
const command = commandIn(argv);
const useCache =
  process.env.DEPLOY_AGENT_CODE_CACHE !== "off" &&
  command !== "daemon" &&
  process.geteuid?.() === 0;

// CommonJS (install/bundle.mjs; dist/agent/package.json says so): Node's ES module loader costs
// about 10 ms more to start than the CommonJS one, on every run. So no top-level await.
void launch().catch((error: unknown) => {
  // What a rejected top-level await did: the error on stderr, exit status 1.
  console.error(error);
  process.exitCode = 1;
});

async function launch(): Promise<void> {
  const bytes = readFileSync(bundle);
  // The bundle is ASCII (install/bundle.mjs makes sure): latin1 reads it as is, and much faster
  // than UTF-8 decoding.
  const source = bytes.toString("latin1");
  const bundleSha256 = useCache ? sha256(bytes) : "";
  const key = useCache ? cacheKey(bundleSha256, command || "agent") : "";
  const dir = useCache ? cacheDir(CACHE_DIR) : undefined;
  const cacheFile = dir ? path.join(dir, `${command || "agent"}.cache`) : undefined;
  const cached = cacheFile ? readCacheFile(cacheFile, key).data : undefined;
  if (useCache) setStartCaches({ bundleSha256, configDir: path.join(CACHE_DIR, "..", "config") });
  // The bundle is the CommonJS module wrapper, a function expression (install/bundle.mjs).
  const script = new Script(source, {
    filename: bundle,
    ...(cached ? { cachedData: cached } : {}),
  });
  const module = { exports: {} as AgentMain };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, here);
  // main() sets the exit code whatever happens; should it never settle (the event loop empties
  // under it), the run must not pass for a success: EX_SOFTWARE, as an ESM top-level await that
  // never settled was an error too.
  process.exitCode = 70;
  await module.exports.main(argv);

  // No usable cache: keep what this run compiled for the next one. Only after a run that did its
  // work (not a usage error, which compiles next to nothing), and never at the cost of the run.
  const code = Number(process.exitCode ?? 0);
  if (cacheFile && (!cached || script.cachedDataRejected) && code >= 0 && code <= 2) {
    try {
      writeCacheFile(cacheFile, key, script.createCachedData());
    } catch {
      // a read-only /var/cache (a sandboxed unit): the next run compiles again
    }
  }
}
