// `npm run bench`: every number the README quotes, measured in one run and printed side by side.
// One measurement per module; each machine-based one boots its own machine (only one runs at a
// time) and destroys it whatever happens. The report goes to stdout at the end, progress to stderr.
import { provisionShop } from "../machine/sample-app.js";
import { backupLines, benchBackup } from "./backup-bench.js";
import { progress, withMachine } from "./bench-machine.js";
import { benchDaemonMemory, daemonLines } from "./daemon-bench.js";
import { benchDowntime, downtimeLines } from "./downtime-bench.js";
import { benchFleet, fleetLines } from "./fleet-bench.js";
import { benchDeployUnderLoad, loadLines } from "./load-bench.js";
import { benchCheck, checkLines } from "./machine-bench.js";
import { benchDeploySplit, benchNoopSync, deploySplitLines, noopSyncLines } from "./sync-bench.js";

async function main(): Promise<void> {
  const sections: string[][] = [
    [`deploy-agent benchmark, ${new Date().toISOString()}, node ${process.version}`],
  ];
  const started = performance.now();
  // BENCH_ONLY=check,downtime runs some sections only (while working on one target); the README
  // quotes a full run.
  const only = process.env.BENCH_ONLY?.split(",");
  const wanted = (section: string) => !only || only.includes(section);
  try {
    // The provisioned sample app, no socket: check, then syncs (no-op first: nothing deployed yet).
    if (wanted("check")) {
      await withMachine("bench", async (machine) => {
        progress("agent check vs the shell script, no-op sync, deploy split");
        await provisionShop(machine);
        sections.push(checkLines(await benchCheck(machine)));
        sections.push(noopSyncLines(await benchNoopSync(machine)));
        sections.push(deploySplitLines(await benchDeploySplit(machine)));
      });
    }
    // The stop window against the size of the DB: the backup copied while serving.
    if (wanted("downtime")) {
      sections.push(downtimeLines([await benchDowntime(false), await benchDowntime(true)]));
    }
    // Lost requests during a deploy: the app's own listener, a socket unit, blue-green.
    if (wanted("load")) {
      const load = [
        await benchDeployUnderLoad("restart"),
        await benchDeployUnderLoad("socket"),
        await benchDeployUnderLoad("blue-green"),
      ];
      sections.push(loadLines(load));
    }
    // Daemon memory over its scheduled checks.
    if (wanted("daemon")) sections.push(daemonLines(await benchDaemonMemory()));
    // 25 agents polling one git daemon: load at the server, jitter, push-to-all convergence.
    if (wanted("fleet")) sections.push(fleetLines(await benchFleet()));
    // Backup against sqlite3 .backup, on the host: no machine needed.
    if (wanted("backup")) {
      progress("backup vs sqlite3 .backup");
      sections.push(backupLines(await benchBackup()));
    }
  } finally {
    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    sections.push([`(bench took ${minutes} min)`]);
    process.stdout.write(`${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`);
  }
}

await main();
