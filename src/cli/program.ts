// The command table: each command's arguments, loaded lazily from src/commands/<name>.ts.
import { Command, Option } from "commander";
import { agentVersion } from "../agent-version.js";

// Parse argv and run one command; resolves to the command's exit code.
export async function runCli(argv: string[]): Promise<{ command: string; code: number }> {
  let outcome = { command: "", code: 0 };
  const done = (command: string) => (code: number) => {
    outcome = { command, code };
  };
  const program = new Command("agent")
    .description("Keep a web app in step with its git branch and prove it is healthy")
    .option(
      "-c, --config <path>",
      "config file (default: $DEPLOY_AGENT_CONFIG or /etc/deploy-agent/agent.yaml)",
    )
    .version(agentVersion(), "-V, --version", "print the agent's version")
    .showHelpAfterError()
    .exitOverride();
  const config = () => program.opts<{ config?: string }>().config;

  program
    .command("check")
    .description(
      "run every health check once (Nagios exit codes: 0 ok, 1 warning, 2 critical, 3 unknown)",
    )
    .argument("[app]", "app name (optional when only one app is configured)")
    .option("--json", "machine-readable output")
    .option("--fix", "repair ownership and modes, and say what changed")
    .action(async (app: string | undefined, opts: { json?: boolean; fix?: boolean }) => {
      const { checkCommand } = await import("../commands/check.js");
      done("check")(
        await checkCommand({ config: config(), app, json: !!opts.json, fix: !!opts.fix }),
      );
    });

  program
    .command("sync")
    .description(
      "deploy the branch head (or --ref): build, back up, switch, migrate, verify, roll back on failure",
    )
    .argument("[app]", "app name")
    .option("--all", "every configured app")
    .option("--boot", "boot mode: an unreachable remote is a warning, not a failure")
    .option("--ref <ref>", "deploy this commit, tag or branch instead of the configured branch")
    .action(
      async (app: string | undefined, opts: { all?: boolean; boot?: boolean; ref?: string }) => {
        const { syncCommand } = await import("../commands/sync.js");
        done("sync")(
          await syncCommand({
            config: config(),
            app,
            all: !!opts.all,
            boot: !!opts.boot,
            ref: opts.ref,
          }),
        );
      },
    );

  program
    .command("notify")
    .description("notification targets (notify: in the config)")
    .command("test")
    .description("send a test message to every target, or the named one, and print the answers")
    .argument("[target]", "a target's name, or notify.N for the N-th (from 0)")
    .action(async (target: string | undefined) => {
      const { notifyTestCommand } = await import("../commands/notify.js");
      done("notify test")(await notifyTestCommand({ config: config(), target }));
    });

  program
    .command("rollback")
    .description(
      "go back to the previous (or named) release, restoring the DB if the newer one migrated",
    )
    .argument("[app]", "app name")
    .option("--to <release>", "release directory name to return to")
    .action(async (app: string | undefined, opts: { to?: string }) => {
      const { rollbackCommand } = await import("../commands/rollback.js");
      done("rollback")(await rollbackCommand({ config: config(), app, to: opts.to }));
    });

  program
    .command("backup")
    .description("online backup of the app's SQLite DB, verified, pruned to backups.keep")
    .argument("[app]", "app name")
    .option("--json", "machine-readable output")
    .action(async (app: string | undefined, opts: { json?: boolean }) => {
      const { backupCommand } = await import("../commands/backup.js");
      done("backup")(await backupCommand({ config: config(), app, json: !!opts.json }));
    });

  program
    .command("restore")
    .description("stop the app, restore the DB from a backup (default: newest), start, verify")
    .argument("[app]", "app name")
    .argument("[backup]", "backup file name or path")
    .action(async (app: string | undefined, backup: string | undefined) => {
      const { restoreCommand } = await import("../commands/restore.js");
      done("restore")(await restoreCommand({ config: config(), app, backup }));
    });

  program
    .command("status")
    .description("live release, last sync, last check, what is running")
    .argument("[app]", "app name")
    .option("--json", "machine-readable output")
    .action(async (app: string | undefined, opts: { json?: boolean }) => {
      const { statusCommand } = await import("../commands/status.js");
      done("status")(await statusCommand({ config: config(), app, json: !!opts.json }));
    });

  program
    .command("history")
    .description("deployments and check results from the state DB")
    .argument("[app]", "app name")
    .option("--json", "machine-readable output")
    .option("--since <when>", "only entries newer than this (duration like 24h, or a date)")
    .addOption(new Option("--limit <n>", "at most this many entries of each kind").default("20"))
    .action(
      async (app: string | undefined, opts: { json?: boolean; since?: string; limit: string }) => {
        const { historyCommand } = await import("../commands/history.js");
        done("history")(
          await historyCommand({
            config: config(),
            app,
            json: !!opts.json,
            since: opts.since,
            limit: opts.limit,
          }),
        );
      },
    );

  program
    .command("adopt")
    .description(
      "put an app that runs from an in-place git checkout under the agent, with one stop (--dry-run: only print the plan)",
    )
    .argument("[service]", "the app's systemd unit, e.g. shop.service")
    .option("--repo <url>", "the git remote the checkout's commit is on (required)")
    .option("--branch <branch>", "the branch to track (default: the checkout's branch)")
    .option("--health <url>", "health URL (default: the bind address + /health, or /)")
    .option(
      "--workers <n>",
      "worker processes (default: read from gunicorn's command line or config)",
    )
    .option("--ssh-key <file>", "a private remote's deploy key (repo.ssh_key), with --known-hosts")
    .option("--known-hosts <file>", "the remote's pinned host keys (repo.known_hosts)")
    .option("--token-file <file>", "an HTTPS remote's token (repo.token_file)")
    .option("--dry-run", "print the plan and change nothing")
    .option(
      "--recover",
      "only put back an adoption a power cut interrupted (the boot sync runs this)",
    )
    .action(
      async (
        service: string | undefined,
        opts: {
          repo?: string;
          branch?: string;
          health?: string;
          workers?: string;
          dryRun?: boolean;
          recover?: boolean;
          sshKey?: string;
          knownHosts?: string;
          tokenFile?: string;
        },
      ) => {
        const { adoptCommand } = await import("../commands/adopt.js");
        done("adopt")(
          await adoptCommand({ config: config(), service, ...opts, dryRun: !!opts.dryRun }),
        );
      },
    );

  program
    .command("daemon")
    .description("the long-running service: scheduled checks, status endpoint, sd_notify")
    .action(async () => {
      const { daemonCommand } = await import("../commands/daemon.js");
      done("daemon")(await daemonCommand({ config: config() }));
    });

  await program.parseAsync(argv, { from: "user" });
  return outcome;
}
