#!/usr/bin/env node
// Entry point of `agent` / `deploy-agent`: the only place that calls process.exit.
import { CommanderError } from "commander";
import { runCli } from "./cli/program.js";
import { describeError, ExitCode, ExitError, exitCodeFor } from "./errors.js";
import { printableLines } from "./output/sanitize.js";

// A terminal that went away (SIGHUP, a closed pipe) makes writes fail with EIO or EPIPE. A run
// that is rolling back must not die of that: what it would have printed is in the journal.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});

const argv = process.argv.slice(2);
const COMMANDS = [
  "check",
  "sync",
  "rollback",
  "backup",
  "restore",
  "status",
  "history",
  "notify",
  "daemon",
];
// Which command runs, known before parsing so even argument errors get that command's codes.
const commandName = argv.find((a) => COMMANDS.includes(a)) ?? "";

try {
  const { code } = await runCli(argv);
  process.exitCode = code;
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and --version are successes; commander already printed any usage message.
    const helped = error.code === "commander.helpDisplayed" || error.code === "commander.help";
    process.exitCode =
      helped || error.exitCode === 0 ? 0 : commandName === "check" ? 3 : ExitCode.usage;
  } else if (error instanceof ExitError) {
    process.stderr.write(`agent ${commandName}: ${printableLines(describeError(error))}\n`);
    process.exitCode = exitCodeFor(error, commandName);
  } else {
    process.stderr.write(
      `agent ${commandName}: internal error: ${printableLines((error as Error)?.stack ?? String(error))}\n`,
    );
    process.exitCode = exitCodeFor(error, commandName);
  }
}
