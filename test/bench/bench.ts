// `npm run bench`: every number the README quotes, measured in one run and printed side by side.
// One measurement per module; each machine-based one boots its own machine (only one runs at a
// time) and destroys it whatever happens. The report goes to stdout at the end, progress to stderr.
import { provisionShop } from "../machine/sample-app.js";
import { backupLines, benchBackup } from "./backup-bench.js";
import { progress, withMachine } from "./bench-machine.js";
import { benchDaemonMemory, daemonLines } from "./daemon-bench.js";
import { benchDeployUnderLoad, loadLines } from "./load-bench.js";
import { benchCheck, checkLines } from "./machine-bench.js";
import { benchDeploySplit, benchNoopSync, deploySplitLines, noopSyncLines } from "./sync-bench.js";

async function main(): Promise<void> {
  const sections: string[][] = [
    [`deploy-agent benchmark, ${new Date().toISOString()}, node ${process.version}`],
  ];
  const started = performance.now();
  try {
    // The provisioned sample app, no socket: check, then syncs (no-op first: nothing deployed yet).
    await withMachine("bench", async (machine) => {
      progress("agent check vs the shell script, no-op sync, deploy split");
      await provisionShop(machine);
      sections.push(checkLines(await benchCheck(machine)));
      sections.push(noopSyncLines(await benchNoopSync(machine)));
      sections.push(deploySplitLines(await benchDeploySplit(machine)));
    });
    // Lost requests during a deploy: the app's own listener, a socket unit, blue-green.
    const load = [
      await benchDeployUnderLoad("restart"),
      await benchDeployUnderLoad("socket"),
      await benchDeployUnderLoad("blue-green"),
    ];
    sections.push(loadLines(load));
    // Daemon memory over 200 checks at one per second (about 3.5 minutes).
    sections.push(daemonLines(await benchDaemonMemory()));
    // Backup against sqlite3 .backup, on the host: no machine needed.
    progress("backup vs sqlite3 .backup");
    sections.push(backupLines(await benchBackup()));
  } finally {
    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    sections.push([`(bench took ${minutes} min)`]);
    process.stdout.write(`${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`);
  }
}

await main();
