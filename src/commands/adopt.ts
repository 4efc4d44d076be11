// `agent adopt SERVICE --repo URL [--branch B] [--health URL] [--workers N] [--dry-run]`: put an
// app that runs today from an in-place git checkout under the agent (DESIGN.md "Adopting an app
// that runs today"). Exit 0 adopted (or, with --dry-run, the plan printed); 1 refused or failed
// with the host put back as it was; 2 failed and putting it back failed too (what is left is
// printed); 64 bad arguments; 78 the config file is invalid.
import { stringify } from "yaml";
import {
  assertNotConfigured,
  ConfigConflictError,
  type MergedConfig,
  mergeAppEntry,
} from "../adopt/agent-config.js";
import {
  type CapistranoPlan,
  executeCapistrano,
  formatCapistranoPlan,
} from "../adopt/capistrano.js";
import { executeAdoption } from "../adopt/execute.js";
import { recoverAdoptions } from "../adopt/journal.js";
import { type AdoptPlan, AdoptRefusal, planAdoption } from "../adopt/plan.js";
import { resolveConfigPath } from "../config/paths.js";
import { catchingSignals, sayOnStderr } from "../deploy/interruption.js";
import { terminalSink } from "../deploy/terminal.js";
import { ExitCode, UsageError } from "../errors.js";
import { displayUrl } from "../git/display-url.js";
import { printable } from "../output/sanitize.js";
import { acquireLock } from "../system/lock.js";

export interface AdoptCommandOptions {
  config?: string;
  service?: string;
  repo?: string;
  recover?: boolean;
  sshKey?: string;
  knownHosts?: string;
  tokenFile?: string;
  branch?: string;
  health?: string;
  workers?: string;
  dryRun: boolean;
}

export async function adoptCommand(options: AdoptCommandOptions): Promise<number> {
  // One adoption (or recovery of one) at a time on a host: a recovery must never take apart an
  // adoption that is still running. (Not an app's name: those cannot start with a dot.)
  const lock = await acquireLock(".adopt", "adopt");
  try {
    return await adoptLocked(options);
  } finally {
    await lock.release();
  }
}

async function adoptLocked(options: AdoptCommandOptions): Promise<number> {
  const file = resolveConfigPath(options.config);
  // First, any adoption a power cut interrupted is put back (also run at boot, see
  // units/deploy-agent-sync.service).
  for (const line of await recoverAdoptions()) process.stdout.write(`agent adopt: ${line}\n`);
  if (options.recover) return ExitCode.ok;
  if (!options.service || !options.repo) {
    throw new UsageError("agent adopt SERVICE --repo URL: name the unit and the remote");
  }
  const { service: unitName, repo } = options;
  if (!!options.sshKey !== !!options.knownHosts) {
    throw new UsageError(
      "--ssh-key and --known-hosts go together: the key, and the host keys it may talk to",
    );
  }
  let workers: number | undefined;
  if (options.workers !== undefined) {
    workers = Number(options.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 1000) {
      throw new UsageError(`--workers ${options.workers}: expected a whole number from 1 to 1000`);
    }
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  let planned: Awaited<ReturnType<typeof planAdoption>>;
  let merged: Awaited<ReturnType<typeof mergeAppEntry>>;
  try {
    await assertNotConfigured(file, unitName.replace(/\.service$/, ""));
    planned = await planAdoption({
      service: unitName,
      repo,
      sshKey: options.sshKey,
      knownHosts: options.knownHosts,
      tokenFile: options.tokenFile,
      branch: options.branch,
      health: options.health,
      workers,
      configFile: file,
    });
    merged = await mergeAppEntry(file, planned.plan.name, planned.plan.entry);
  } catch (error) {
    if (error instanceof AdoptRefusal || error instanceof ConfigConflictError) {
      process.stderr.write(
        `agent adopt: refused: ${printable(error.message)}. Nothing was changed.\n`,
      );
      return ExitCode.failedRolledBack;
    }
    throw error;
  }
  if (planned.kind === "capistrano") {
    return adoptCapistrano(planned.plan, file, merged, options.dryRun, out);
  }
  const plan = planned.plan;
  for (const line of formatPlan(plan, file, merged.action)) out(line);
  if (options.dryRun) {
    out("dry run: nothing was changed.");
    return ExitCode.ok;
  }
  const result = await catchingSignals(
    (interruption) =>
      executeAdoption(
        plan,
        { file, merged },
        (line) => out(`adopt: ${line}`),
        terminalSink(),
        interruption,
      ),
    sayOnStderr("adopt"),
  );
  if (result.adopted) {
    out(
      `adopted: ${plan.name} runs from ${plan.dir}/current; the checkout is kept, untouched, in ${plan.aside}.`,
    );
    out(`next: agent check ${plan.name}; agent sync ${plan.name} deploys ${plan.branch}.`);
    return ExitCode.ok;
  }
  if (result.restoreFailures.length > 0) {
    process.stderr.write(
      `agent adopt: failed (${printable(result.message ?? "")}) and the host could not be put back entirely:\n${result.restoreFailures.map((f) => `  ${printable(f)}`).join("\n")}\n`,
    );
    return ExitCode.rollbackFailed;
  }
  process.stderr.write(
    `agent adopt: failed: ${printable(result.message ?? "")}. The host is as it was: ${plan.dir} is the checkout again and ${plan.service} runs from it.\n`,
  );
  return ExitCode.failedRolledBack;
}

async function adoptCapistrano(
  plan: CapistranoPlan,
  file: string,
  merged: MergedConfig,
  dryRun: boolean,
  out: (line: string) => void,
): Promise<number> {
  const yaml = stringify({ [plan.name]: plan.entry }, { lineWidth: 0 }).trimEnd();
  for (const line of formatCapistranoPlan(plan, file, merged.action, yaml)) out(line);
  if (dryRun) {
    out("dry run: nothing was changed.");
    return ExitCode.ok;
  }
  const result = await catchingSignals(
    (interruption) =>
      executeCapistrano(plan, { file, merged }, (line) => out(`adopt: ${line}`), interruption),
    sayOnStderr("adopt"),
  );
  if (result.adopted) {
    out(`adopted: ${plan.name} in place; its releases are the agent's to roll back to and prune.`);
    return ExitCode.ok;
  }
  if (result.restoreFailures.length > 0) {
    process.stderr.write(
      `agent adopt: failed (${printable(result.message ?? "")}) and the host could not be put back entirely:\n${result.restoreFailures.map((f) => `  ${printable(f)}`).join("\n")}\n`,
    );
    return ExitCode.rollbackFailed;
  }
  process.stderr.write(
    `agent adopt: failed: ${printable(result.message ?? "")}. The host is as it was.\n`,
  );
  return ExitCode.failedRolledBack;
}

// The plan as a person reads it before saying yes.
export function formatPlan(plan: AdoptPlan, file: string, action: string): string[] {
  const short = plan.checkout.head.slice(0, 12);
  const lines = [
    `agent adopt ${plan.service}: the plan`,
    `  unit:      ${plan.service}, user ${plan.user}, group ${plan.group}, 1 master + ${plan.workers} workers (${plan.workersFrom})`,
    `  checkout:  ${plan.dir} at ${short}${plan.checkout.branch ? ` (${plan.checkout.branch})` : ""}, no changes to tracked files`,
    `  remote:    ${printable(displayUrl(plan.url))} has ${short} on ${plan.branch}${plan.behind > 0 ? `, ${plan.behind} commit(s) behind it (the next sync deploys them)` : ""}`,
    `  health:    ${plan.healthUrl}`,
    `  layout:    ${plan.dir} becomes releases/, current, shared/, repo/, backups/; the checkout is kept whole as ${plan.aside}`,
    `  release:   the first one is ${short}, built by the install hook and verified like every deploy`,
  ];
  if (plan.data.length === 0) lines.push("  data:      none (no untracked files to keep)");
  for (const [i, entry] of plan.data.entries()) {
    const inside = plan.checkout.databases.filter((d) => d.startsWith(`${entry.path}/`));
    const how =
      entry.kind === "sqlite"
        ? "SQLite, online backup with the app stopped"
        : inside.length > 0
          ? `${entry.kind}; SQLite inside by online backup: ${inside.join(", ")}`
          : entry.kind;
    lines.push(
      `  ${i === 0 ? "data:     " : "          "} ${entry.path} -> shared/${entry.path} (${how}), linked into every release`,
    );
  }
  if (plan.checkout.rebuilt.length > 0) {
    lines.push(
      `  rebuilt:   ${plan.checkout.rebuilt.join(", ")} (not copied: each release builds its own)`,
    );
  }
  for (const dropIn of [plan.unitDropIn, ...plan.agentDropIns]) {
    lines.push(`  drop-in:   ${dropIn.path}`);
    for (const text of dropIn.text.trimEnd().split("\n")) lines.push(`               ${text}`);
  }
  lines.push(`  config:    ${file} (${action}):`);
  const yaml = stringify({ [plan.name]: plan.entry }, { lineWidth: 0 }).trimEnd();
  for (const text of yaml.split("\n")) lines.push(`               ${text}`);
  lines.push(
    `  downtime:  ${plan.service} stops once, from the data copy until the first release is verified`,
  );
  for (const note of plan.notes) lines.push(`  note:      ${note}`);
  return lines;
}
