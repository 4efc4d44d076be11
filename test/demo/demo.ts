// The README's demo: a throwaway machine with the sample app, shown doing the agent's jobs.
import { bootMachine, type Machine } from "../machine/machine.js";
import { provisionShop, pushCommit, SHOP_DB } from "../machine/sample-app.js";

// Print a heading the way a person narrating the demo would.
function say(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

// Run a shell command inside the machine and show it with its output and exit code.
async function show(machine: Machine, command: string): Promise<number> {
  process.stdout.write(`root@machine:~# ${command}\n`);
  const result = await machine.exec(["bash", "-c", `${command} 2>&1`], { timeoutMs: 300_000 });
  if (result.stdout) process.stdout.write(`${result.stdout}\n`);
  if (result.exitCode !== 0) process.stdout.write(`(exit ${result.exitCode})\n`);
  return result.exitCode;
}

// A small change to the app that shows up in its /health answer and its REVISION.
function release(note: string) {
  return { message: note, files: { "NOTES.md": `${note}\n` } };
}

async function main(): Promise<void> {
  say("Booting a throwaway machine (real systemd as PID 1) with the sample shop app");
  const machine = await bootMachine({ name: "demo" });
  try {
    const { sha } = await provisionShop(machine);
    process.stdout.write(
      `shop is live on ${sha.slice(0, 12)}: gunicorn, 1 master + 3 workers, SQLite in WAL mode\n`,
    );
    await machine.sh(
      "install -m 0644 /opt/deploy-agent/units/*.service /etc/systemd/system/ && systemctl daemon-reload",
    );
    await show(machine, "systemctl enable deploy-agent.service");

    say("The team pushes two commits while the machine is off; it boots straight onto the newest");
    await pushCommit(machine, release("faster checkout page"));
    const newest = await pushCommit(machine, release("fix VAT rounding"));
    process.stdout.write(
      `branch main is now at ${newest.slice(0, 12)}; powering off and on again\n`,
    );
    await machine.poweroff();
    await machine.boot();
    await machine.waitFor(
      async () =>
        (await machine.exec(["systemctl", "is-active", "deploy-agent-sync.service"])).stdout ===
        "active",
      120_000,
      { what: "boot sync to finish" },
    );
    await show(
      machine,
      "journalctl -b -u deploy-agent-sync.service -o cat | grep -v '^{' | tail -n 15",
    );
    await show(machine, "agent status");

    say("agent check: every health check once (Nagios exit codes)");
    await show(machine, "agent check");

    say(
      "A deploy: agent sync builds beside the live release, backs up, switches, migrates, verifies",
    );
    await pushCommit(machine, release("new shipping options"));
    await show(machine, "agent sync");

    say("A fault: someone ran the app's DB tool as root and chmod'ed the DB");
    await show(machine, `chown root:root ${SHOP_DB} && chmod 600 ${SHOP_DB}`);
    await show(machine, "agent check");
    say("agent check --fix repairs ownership and modes, and says what it changed");
    await show(machine, "agent check --fix");
    await show(machine, "agent check");
  } finally {
    await machine.destroy();
    say("Machine destroyed");
  }
}

await main();
