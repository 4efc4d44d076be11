// The validated config of a previous run, remembered for the same text. Validating agent.yaml
// (YAML, then building and running the zod schema) was a third of what `agent check` cost in
// CPU, for a file that changes a few times a year; the checks run every few minutes.
//
// A remembered config is used only when it was made by this very bundle (its SHA-256, from the
// launcher) on this very Node (the schema checks patterns with V8's RegExp and URLs with Node's
// parser, which change between versions) from this very file's exact text (its path and the
// text's SHA-256), from a trusted file of root's (src/fs/root-cache.ts). Anything else, and any
// run the launcher gave no cache directory (the daemon, a run not as root,
// DEPLOY_AGENT_CODE_CACHE=off), validates as usual. The rules that ask the host (users, groups,
// other apps) are not remembered: load.ts runs them every time.
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { cacheDir, readCacheFile, sha256, writeCacheFile } from "../fs/root-cache.js";
import { type StartCaches, startCaches } from "../launcher/start-caches.js";
import type { Config } from "./schema.js";

const MAGIC = "deploy-agent-config 2";

// The trusted directory, checked and opened once per run (its descriptor stays open).
let opened: { caches: StartCaches; dir: string | undefined } | undefined;

// The trusted directory and this file's name and key in it, when this run may remember.
function slot(file: string, text: string): { file: string; key: string } | undefined {
  const caches = startCaches();
  if (!caches) return undefined;
  if (opened?.caches !== caches) opened = { caches, dir: cacheDir(caches.configDir) };
  if (!opened.dir) return undefined;
  const absolute = path.resolve(file);
  const node = `${process.version}/${process.versions.v8}`;
  return {
    file: path.join(opened.dir, `${sha256(absolute).slice(0, 24)}.json`),
    key: [MAGIC, caches.bundleSha256, node, sha256(absolute), sha256(text)].join(" "),
  };
}

// The config validated from exactly this text by exactly this bundle, if remembered.
export function recallConfig(file: string, text: string): Config | undefined {
  const at = slot(file, text);
  if (!at) return undefined;
  const read = readCacheFile(at.file, at.key);
  if (!read.data) return undefined;
  try {
    return JSON.parse(read.data.toString("utf8")) as Config;
  } catch {
    return undefined;
  }
}

// Remember `config`, validated from `text`, for the next run. Only a config that JSON gives back
// exactly is kept (a value JSON cannot carry would come back different); never at the cost of
// the run.
export function rememberConfig(file: string, text: string, config: Config): void {
  try {
    const at = slot(file, text);
    if (!at) return;
    const json = JSON.stringify(config);
    if (!isDeepStrictEqual(JSON.parse(json), config)) return;
    writeCacheFile(at.file, at.key, Buffer.from(json, "utf8"));
  } catch {
    // a read-only /var/cache, a full disk: the next run validates again
  }
}
