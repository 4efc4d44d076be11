// The directories of an app that must be root's alone: the app directory itself, repo/,
// releases/, backups/, .staging/, .revisions/ and colors/. If the app user could write one of them
// it could swap `current` or a color's release, plant git config that root runs on the next
// fetch, or read every backup.
import { closeSync, fstatSync, lstatSync } from "node:fs";
import path from "node:path";
import { describeKind, lstatInDir, openEntry } from "../fs/entry.js";
import { isTrusted, pinDir, UnsafePathError, walkToDir } from "../fs/pinned-dir.js";
import type { AppLayout } from "./layout.js";

export interface DirProblem {
  path: string;
  uid: number;
  mode: number;
  // "/srv/shop is owned by uid 33 and mode 775: the app user could ..."
  message: string;
}

// The agent's directories that exist and are not root's alone. A missing one is fine (created
// by the first deploy, root's); one that is a symlink or not a directory is a problem too.
export async function agentDirProblems(layout: AppLayout): Promise<DirProblem[]> {
  const problems: DirProblem[] = [];
  let top: { fd: number; path: string };
  try {
    top = walkToDir(layout.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    return [{ path: layout.dir, uid: -1, mode: 0, message: (error as Error).message }];
  }
  try {
    problems.push(...ancestorProblems(top.path));
    const own = fstatSync(top.fd);
    if (!isTrusted(own)) problems.push(problem(layout.dir, own.uid, own.mode));
    for (const sub of agentSubdirs(layout)) {
      const stats = lstatInDir(top.fd, path.basename(sub));
      if (!stats) continue;
      if (!stats.isDirectory()) {
        problems.push({
          path: sub,
          uid: stats.uid,
          mode: stats.mode,
          message: `${sub} is ${describeKind(stats)}, not a directory`,
        });
      } else if (!isTrusted(stats)) {
        problems.push(problem(sub, stats.uid, stats.mode));
      }
    }
  } finally {
    closeSync(top.fd);
  }
  return problems;
}

// The agent's directories inside the app directory.
function agentSubdirs(layout: AppLayout): string[] {
  return [
    layout.repo,
    layout.releases,
    layout.backups,
    layout.staging,
    layout.revisions,
    layout.colors,
  ];
}

// Throw when any agent directory is not root's: nothing may be deployed into such a layout.
export async function assertAgentDirsTrusted(layout: AppLayout): Promise<void> {
  const problems = await agentDirProblems(layout);
  if (problems.length > 0) {
    throw new UnsafePathError(
      `${problems.map((p) => p.message).join("; ")}. Nothing was changed; \`agent check --fix\` makes them root's`,
    );
  }
}

// Make each agent directory root's and writable by root only (the directories themselves, not
// what is in them); returns what was changed. A symlink or non-directory is left for a person.
export async function repairAgentDirs(layout: AppLayout): Promise<string[]> {
  const changes: string[] = [];
  const top = await pinDir(layout.dir);
  try {
    const fix = async (
      where: string,
      handle: { chown(u: number, g: number): Promise<void>; chmod(m: number): Promise<void> },
      uid: number,
      gid: number,
      mode: number,
    ) => {
      if (uid !== 0 || gid !== 0) {
        await handle.chown(0, 0);
        changes.push(`chown root:root ${where} (was ${uid}:${gid})`);
      }
      const wanted = mode & 0o7755;
      if ((mode & 0o7777) !== wanted) {
        await handle.chmod(wanted);
        changes.push(
          `chmod ${wanted.toString(8).padStart(3, "0")} ${where} (was ${(mode & 0o7777).toString(8).padStart(3, "0")})`,
        );
      }
    };
    const own = await top.stat();
    if (!isTrusted(own)) await fix(layout.dir, top.handle, own.uid, own.gid, own.mode);
    for (const sub of agentSubdirs(layout)) {
      const opened = await openEntry(top, path.basename(sub), "dir").catch(() => undefined);
      if (!opened) continue;
      try {
        if (!isTrusted(opened.stats)) {
          await fix(sub, opened.handle, opened.stats.uid, opened.stats.gid, opened.stats.mode);
        }
      } finally {
        await opened.handle.close();
      }
    }
  } finally {
    await top.close();
  }
  return changes;
}

// Directories above the app directory: whoever may rename entries in one of them could put a
// directory of its own where the app directory was. Root's alone, or root's with the sticky bit
// (others may create there but not rename what is root's), is safe. `canonical` has no links.
function ancestorProblems(canonical: string): DirProblem[] {
  const problems: DirProblem[] = [];
  for (let dir = path.dirname(canonical); ; dir = path.dirname(dir)) {
    const stats = lstatSync(dir);
    const sticky = (stats.mode & 0o1000) !== 0;
    if (!isTrusted(stats) && !(stats.uid === 0 && sticky)) {
      problems.push(problem(dir, stats.uid, stats.mode, "the app directory's parents"));
    }
    if (dir === "/") return problems;
  }
}

function problem(
  where: string,
  uid: number,
  mode: number,
  what = "the agent's directories",
): DirProblem {
  const perms = (mode & 0o7777).toString(8).padStart(3, "0");
  const who =
    uid === 0
      ? `writable by group or others (mode ${perms})`
      : `owned by uid ${uid} (mode ${perms})`;
  return {
    path: where,
    uid,
    mode,
    message: `${where} is ${who}: only root may write ${what}`,
  };
}
