// Check "remote" (only with repo.ssh_key or repo.token_file): the secrets a private remote needs
// are root's alone and readable, so the next fetch can use them and nobody else can. It does not
// ask the remote (a check must not depend on it; a sync that cannot fetch says why).

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { rootOnlyFileProblem } from "../fs/root-only-file.js";
import type { Check, CheckOutcome } from "./types.js";

export const remoteCheck: Check = {
  name: "remote",
  async run(ctx) {
    const { ssh_key: key, known_hosts: known, token_file: token } = ctx.app.repo;
    const problems: string[] = [];
    for (const [name, file] of [
      ["ssh_key", key],
      ["token_file", token],
    ] as const) {
      if (file) {
        const problem = await secretProblem(file);
        if (problem) problems.push(`repo.${name} ${problem}`);
      }
    }
    if (known) {
      const problem = await rootOnlyFileProblem(known);
      if (problem) problems.push(`repo.known_hosts ${problem}`);
    }
    return judge(problems, {
      ssh_key: key ?? null,
      known_hosts: known ?? null,
      token_file: token ?? null,
    });
  },
};

function judge(problems: string[], details: Record<string, unknown>): CheckOutcome {
  if (problems.length === 0) {
    return {
      status: "ok",
      summary: "the remote's key files are root's alone and readable",
      details,
    };
  }
  return { status: "warning", summary: problems.join("; "), details: { ...details, problems } };
}

// A secret: root's regular file, in root's directories, that no group or other may even read.
async function secretProblem(file: string): Promise<string | undefined> {
  const problem = await rootOnlyFileProblem(file);
  if (problem) return problem;
  const handle = await open(
    file,
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  ).catch((error: NodeJS.ErrnoException) => error);
  if (handle instanceof Error) return `${file}: cannot be read (${handle.code ?? handle.message})`;
  try {
    const stats = await handle.stat();
    if ((stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(3, "0");
      return `${file}: mode ${mode} lets others read a secret; chmod 600`;
    }
    if (stats.size === 0) return `${file}: empty`;
    return undefined;
  } finally {
    await handle.close();
  }
}
