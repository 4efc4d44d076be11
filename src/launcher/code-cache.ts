// V8 code caches for the bundle, one per command: the code a previous run of that command
// compiled, so `agent check` does not parse and compile its share of a megabyte of JavaScript on
// every start (Node 20 has no module compile cache of its own).
//
// Deserializing a cache gives V8 code that runs as root, so one is used only as a trusted file of
// root's (src/fs/root-cache.ts) made from exactly this source by exactly this Node: its key names
// the source's SHA-256, Node's version, V8's cache version tag, the CPU architecture and the
// command. V8 makes its own checks on top (cachedDataRejected).
import { cachedDataVersionTag } from "node:v8";

const MAGIC = "deploy-agent-code-cache 2";

// What a cache must have been made for: this source, this Node, this V8, this machine, this
// command.
export function cacheKey(sourceSha256: string, command: string): string {
  return [MAGIC, sourceSha256, process.version, cachedDataVersionTag(), process.arch, command]
    .join(" ")
    .replace(/\n/g, " ");
}
