// The agent's main program, as the launcher (src/launcher/launch.ts) runs it from the bundle:
// parse argv, run one command, turn what happened into an exit code. The only place that decides
// process.exitCode.
import { CommanderError } from "commander";
import { describeError, ExitCode, ExitError, exitCodeFor } from "../errors.js";
import { printableLines } from "../output/sanitize.js";
import { commandIn } from "./command-names.js";
import { runCli } from "./program.js";

export async function main(argv: string[]): Promise<void> {
  // A terminal that went away (SIGHUP, a closed pipe) makes writes fail with EIO or EPIPE. A run
  // that is rolling back must not die of that: what it would have printed is in the journal.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  // Which command runs, known before parsing so even argument errors get that command's codes.
  const commandName = commandIn(argv);
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
}
