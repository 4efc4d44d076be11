// Rules of blue-green apps that need the host or the whole file: the upstream file stays inside
// the proxy's configuration directory, and no two apps share a port or an upstream file.
import { lstat, realpath } from "node:fs/promises";
import path from "node:path";
import type { ConfigProblem } from "../errors.js";
import { describeKind } from "../fs/entry.js";
import { isInside } from "../fs/path-inside.js";
import { COLORS } from "./blue-green.js";
import type { Config } from "./schema.js";

// nginx's configuration, root's: the one place where the agent, as root, writes for the proxy.
export const NGINX_DIR = "/etc/nginx";

// Problems of every blue-green app of the config, with their key paths.
export async function blueGreenHostProblems(
  config: Config,
  nginxDir = NGINX_DIR,
): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const ports = new Map<number, string>();
  const files = new Map<string, string>();
  for (const [name, app] of Object.entries(config.apps)) {
    const bg = app.blue_green;
    if (!bg) continue;
    const at = `apps.${name}.blue_green`;
    const fileProblem = await upstreamFileProblem(bg.upstream_file, nginxDir);
    if (fileProblem) problems.push({ path: `${at}.upstream_file`, message: fileProblem });
    const file = path.normalize(bg.upstream_file);
    const sharer = files.get(file);
    if (sharer) {
      problems.push({
        path: `${at}.upstream_file`,
        message: `same file as app "${sharer}": each app needs its own`,
      });
    }
    files.set(file, name);
    for (const color of COLORS) {
      const port = bg.ports[color];
      const other = ports.get(port);
      // The same port twice in one app is the strategy rule's to report.
      if (other && other !== name) {
        problems.push({
          path: `${at}.ports.${color}`,
          message: `port ${port} is also a port of app "${other}"`,
        });
      }
      ports.set(port, name);
    }
  }
  return problems;
}

// Why the upstream file may not be written where the config says, or undefined. Lexically inside
// `nginxDir`, and the part of its directory that exists resolves (symlinks followed) inside the
// real `nginxDir`: a symlinked directory cannot lead the write elsewhere. The file itself, when it
// exists, must be a plain file: the agent replaces it and never writes through a link.
export async function upstreamFileProblem(
  file: string,
  nginxDir: string,
): Promise<string | undefined> {
  const normal = path.normalize(file);
  if (!isInside(nginxDir, normal)) {
    return `must be inside ${nginxDir}/ (the proxy's configuration), e.g. ${nginxDir}/deploy-agent/shop.upstream`;
  }
  let existing = path.dirname(normal);
  while (!(await exists(existing))) existing = path.dirname(existing);
  if (existing !== nginxDir && !isInside(nginxDir, existing)) {
    return `${nginxDir} does not exist on this host (is nginx installed?)`;
  }
  let realRoot: string;
  let realDir: string;
  try {
    [realRoot, realDir] = await Promise.all([realpath(nginxDir), realpath(existing)]);
  } catch (error) {
    // A dangling symlink on the way: nothing could be written there anyway.
    return `${existing} cannot be resolved (${(error as NodeJS.ErrnoException).code ?? error})`;
  }
  if (realDir !== realRoot && !isInside(realRoot, realDir)) {
    return `${existing} resolves to ${realDir}, outside ${nginxDir}: refused (a symlink leads out)`;
  }
  const stats = await lstat(normal).catch(() => undefined);
  if (stats && !stats.isFile()) {
    return `${normal} is ${describeKind(stats)}: the agent replaces this file and writes only a plain file`;
  }
  return undefined;
}

async function exists(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => undefined)) !== undefined;
}
