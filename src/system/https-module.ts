// node:https, loaded on first use: it pulls in TLS, which a plain-http health check never needs.
// Through require, not import(): the bundle runs as a vm.Script, which has no dynamic import.
import { createRequire } from "node:module";

let https: typeof import("node:https") | undefined;

export function httpsModule(): typeof import("node:https") {
  https ??= createRequire(import.meta.url)("node:https") as typeof import("node:https");
  return https;
}
