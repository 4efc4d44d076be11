// `npm run bench`: every number the README quotes, measured in one run and printed side by side.
import { bootMachine } from "../machine/machine.js";
import { provisionShop } from "../machine/sample-app.js";
import { benchBackup } from "./backup-bench.js";
import { benchCheck } from "./machine-bench.js";

// Format seconds or milliseconds for the report.
const ms = (v: number) => `${v.toFixed(0)} ms`;
const s = (v: number) => `${v.toFixed(2)} s`;
const x = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(2)}×`);

async function main(): Promise<void> {
  const lines: string[] = [
    `deploy-agent benchmark, ${new Date().toISOString()}, node ${process.version}`,
  ];
  const machine = await bootMachine({ name: "bench" });
  try {
    await provisionShop(machine);
    const check = await benchCheck(machine);
    lines.push(
      "",
      "agent check (median of 11, sample app, all checks)",
      `  agent check           ${ms(check.agentMs)}  (exit ${check.agentExit})`,
      `  shell script          ${ms(check.scriptMs)}  (exit ${check.scriptExit})`,
      `  ratio agent/script    ${x(check.ratio)}`,
    );
  } finally {
    await machine.destroy();
  }
  const backup = await benchBackup();
  lines.push(
    "",
    `backup of a ${backup.dbMB} MB WAL database`,
    `  idle:          agent backup ${s(backup.idle.agentS)} (copy ${s(backup.idle.copyS)})   sqlite3 .backup ${s(backup.idle.sqliteS)}   ratio ${x(backup.idle.ratio)} (copy ${x(backup.idle.copyRatio)})`,
    `  under writes:  agent backup ${s(backup.underWrites.agentS)} (copy ${s(backup.underWrites.copyS)})   sqlite3 .backup ${
      backup.underWrites.sqliteS === null
        ? backup.underWrites.sqliteNote
        : s(backup.underWrites.sqliteS)
    }   ratio ${x(backup.underWrites.ratio)}`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
