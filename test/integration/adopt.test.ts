// `agent adopt` on a real machine: an app run as the seed teams run theirs (an in-place checkout in
// /opt, the SQLite DB, .env, uploads and a venv inside it, a unit whose WorkingDirectory is the
// checkout and whose command runs the venv's gunicorn), taken over while a client writes. Refusals
// and a failing adoption leave the host byte-for-byte as it was; the adoption keeps every answered
// write, the next push deploys, and the checkout is still there.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { pushCommit, SAMPLE_APP_GUEST, startWriter, waitForHealth } from "../machine/sample-app.js";
import { GIT } from "../machine/shop-layout.js";
import { agent, explain, installSyncUnit, sh, skipUnlessRoot } from "./sync-helpers.js";

const APP = "/opt/datacharted-app";
const REMOTE = "/srv/git/datacharted.git";
const UNIT = "datacharted.service";
const CONFIG = "/etc/deploy-agent/agent.yaml";

const UNIT_TEXT = `[Unit]
Description=datacharted (as it runs before the agent)

[Service]
User=www-data
Group=www-data
WorkingDirectory=${APP}
Environment=DB_PATH=${APP}/app_dev.db
Environment=PYTHONUNBUFFERED=1
ExecStart=${APP}/venv/bin/python -m gunicorn --workers 3 --bind 127.0.0.1:8000 app:app
KillMode=mixed
TimeoutStopSec=20

[Install]
WantedBy=multi-user.target
`;

// The remote and the checkout, as a team has them: cloned by hand, venv and data inside.
const SETUP = `set -euo pipefail
work=$(mktemp -d)
cp -a ${SAMPLE_APP_GUEST}/. "$work"/
rm -rf "$work"/__pycache__ "$work"/instance "$work"/.env "$work"/REVISION "$work"/.git
printf 'venv/\\n*.db\\n*.db-wal\\n*.db-shm\\n.env\\n__pycache__/\\n/uploads/\\n' > "$work/.gitignore"
mkdir -p "$(dirname ${REMOTE})"
git init -q --bare -b main ${REMOTE}
mkdir -p "$work/static/uploads" && touch "$work/static/uploads/.gitkeep"
printf 'instance/\\n' >> "$work/.gitignore"
(cd "$work" && ${GIT} init -q -b main && ${GIT} add -A && ${GIT} commit -q -m "datacharted" && ${GIT} push -q ${REMOTE} main)
rm -rf "$work"
git clone -q ${REMOTE} ${APP}
chown -R www-data:www-data ${APP}
cd ${APP}
runuser -u www-data -- python3 -m venv --system-site-packages venv
runuser -u www-data -- env DB_PATH=${APP}/app_dev.db python3 migrate.py
runuser -u www-data -- python3 -c 'import sqlite3; sqlite3.connect("app_dev.db").execute("PRAGMA journal_mode=WAL")'
chmod 664 app_dev.db
runuser -u www-data -- sh -c 'umask 077; echo SECRET_KEY=datacharted-secret > .env'
runuser -u www-data -- sh -c 'mkdir uploads && echo picture > uploads/cat.txt'
runuser -u www-data -- sh -c 'echo a > static/uploads/a.png && echo b > static/uploads/b.png'
runuser -u www-data -- sh -c 'mkdir instance && python3 -c "import sqlite3; c = sqlite3.connect(\\"instance/sessions.db\\"); c.execute(\\"CREATE TABLE s (k)\\"); c.commit()"'
runuser -u www-data -- python3 -c 'import app' >/dev/null
rm -f ${CONFIG}
`;

// What must not change when an adoption is refused or fails: every file of the checkout but the
// live DB (the app writes it throughout; its rows are checked separately), the units and their
// drop-ins, the agent's config; with owners and modes.
const FINGERPRINT = `set -euo pipefail
cd ${APP}
{ find . -path ./app_dev.db -prune -o -path './app_dev.db-*' -prune -o -path ./venv -prune -o -path '*/__pycache__' -prune -o -printf '%p %y %m %u:%g\\n' 2>/dev/null || true; } | sort
{ find . -type f ! -name 'app_dev.db*' ! -path './venv/*' ! -path '*/__pycache__/*' -exec sha256sum {} + 2>/dev/null || true; } | sort
ls -d /opt/* | sort
find /etc/systemd/system -name '*.conf' -o -name '*.service' | sort | xargs -r sha256sum
[ -e ${CONFIG} ] && sha256sum ${CONFIG} || echo "no ${CONFIG}"
`;

const CAP = "/var/www/cap";
const CAP_REMOTE = "/srv/git/cap.git";
const CAP_UNIT = "cap.service";
const CAP_UNIT_TEXT = `[Service]
User=www-data
Group=www-data
WorkingDirectory=${CAP}/current
Environment=DB_PATH=${CAP}/shared/cap.db
ExecStart=/usr/bin/gunicorn --workers 3 -c gunicorn.conf.py app:app
KillMode=mixed
TimeoutStopSec=20
`;

// As `cap deploy` leaves it, twice: releases/<stamp>/ with REVISION, an absolute current, shared/
// linked, repo/ a mirror; all the deploy user's (here the app user).
const CAPISTRANO_SETUP = `set -euo pipefail
work=$(mktemp -d)
cp -a ${SAMPLE_APP_GUEST}/. "$work"/
rm -rf "$work"/__pycache__ "$work"/instance "$work"/.env "$work"/REVISION "$work"/.git
git init -q --bare -b main ${CAP_REMOTE}
cd "$work" && ${GIT} init -q -b main && ${GIT} add -A && ${GIT} commit -q -m one && ${GIT} push -q ${CAP_REMOTE} main
echo two > CHANGES.txt && ${GIT} add -A && ${GIT} commit -q -m two && ${GIT} push -q ${CAP_REMOTE} main
cd / && rm -rf "$work"
mkdir -p ${CAP}/releases ${CAP}/shared
git clone -q --mirror ${CAP_REMOTE} ${CAP}/repo
echo SECRET_KEY=cap > ${CAP}/shared/.env
i=1
for sha in $(git --git-dir=${CAP_REMOTE} rev-list --reverse main); do
  rel=${CAP}/releases/2024010\${i}123456
  mkdir "$rel"
  git --git-dir=${CAP}/repo archive "$sha" | tar -x -C "$rel"
  echo "$sha" > "$rel/REVISION"
  ln -s ${CAP}/shared/.env "$rel/.env"
  i=$((i + 1))
done
(cd ${CAP}/releases/20240101123456 && DB_PATH=${CAP}/shared/cap.db python3 migrate.py)
python3 -c 'import sqlite3; sqlite3.connect("${CAP}/shared/cap.db").execute("PRAGMA journal_mode=WAL")'
chmod 664 ${CAP}/shared/cap.db
ln -s ${CAP}/releases/20240102123456 ${CAP}/current
chown -R www-data:www-data ${CAP}
`;

describe("agent adopt: an in-place checkout taken over", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  let head = "";

  before(async () => {
    machine = await bootMachine({ name: "adopt" });
    await sh(machine, SETUP, { timeoutMs: 120_000 });
    head = await sh(machine, `git --git-dir=${REMOTE} rev-parse main`);
    await machine.writeFile(`/etc/systemd/system/${UNIT}`, UNIT_TEXT, 0o644);
    await sh(machine, `systemctl daemon-reload && systemctl enable --now ${UNIT}`);
    await waitForHealth(machine, "unknown");
  });
  after(async () => {
    await machine?.destroy();
  });

  const fingerprint = () => sh(machine, FINGERPRINT);
  // A writer a failed case left running would hold the unit's name.
  const writerStarted = async (ratePerSec: number) => {
    await machine.exec(["systemctl", "stop", "shop-writer.service"]);
    return startWriter(machine, { ratePerSec });
  };
  const adopt = (...args: string[]) =>
    agent(machine, ["adopt", UNIT, "--repo", REMOTE, ...args], { timeoutMs: 300_000 });

  test("refusals name the reason and change nothing", async () => {
    const was = await fingerprint();
    const refused = async (run: Awaited<ReturnType<typeof adopt>>, reason: RegExp) => {
      assert.equal(run.code, 1, explain(run));
      assert.match(run.stderr, reason, explain(run));
      assert.match(run.stderr, /Nothing was changed/, explain(run));
      assert.equal(await fingerprint(), was);
    };
    const none = await agent(machine, ["adopt", "nosuch.service", "--repo", REMOTE]);
    await refused(none, /no unit nosuch\.service/);

    await sh(machine, `cd ${APP} && runuser -u www-data -- sh -c 'echo "# local fix" >> app.py'`);
    const dirtyWas = await fingerprint();
    const dirty = await adopt();
    assert.equal(dirty.code, 1, explain(dirty));
    assert.match(dirty.stderr, /changes to tracked files \(app\.py\)/, explain(dirty));
    assert.equal(await fingerprint(), dirtyWas);
    await sh(machine, `cd ${APP} && runuser -u www-data -- git checkout -q -- app.py`);

    await sh(
      machine,
      `cd ${APP} && runuser -u www-data -- ${GIT} commit -q --allow-empty -m "never pushed"`,
    );
    const unpushedWas = await fingerprint();
    const unpushed = await adopt();
    assert.equal(unpushed.code, 1, explain(unpushed));
    assert.match(
      unpushed.stderr,
      /does not have the checkout's commit [0-9a-f]{12}/,
      explain(unpushed),
    );
    assert.equal(await fingerprint(), unpushedWas);
    await sh(machine, `cd ${APP} && runuser -u www-data -- git reset -q --hard ${head}`);

    // Another process working in the checkout (a worker, a cron job) would keep writing it.
    await sh(machine, `systemd-run --unit=stray --quiet -p WorkingDirectory=${APP} /bin/sleep 300`);
    const stray = await adopt();
    await sh(machine, "systemctl stop stray.service");
    assert.equal(stray.code, 1, explain(stray));
    assert.match(
      stray.stderr,
      /processes other than datacharted\.service run in .*sleep \(\/system\.slice\/stray\.service\)/,
      explain(stray),
    );

    // A private remote's key that is not root's alone is not used (as by every fetch).
    await sh(
      machine,
      "install -o www-data -m 600 /dev/null /root/adopt_key && install -m 600 /dev/null /root/adopt_hosts",
    );
    const openKey = await adopt(
      "--ssh-key",
      "/root/adopt_key",
      "--known-hosts",
      "/root/adopt_hosts",
    );
    assert.equal(openKey.code, 1, explain(openKey));
    assert.match(openKey.stderr, /repo\.ssh_key: .*not used/, explain(openKey));
    const halfKey = await adopt("--ssh-key", "/root/adopt_key");
    assert.equal(halfKey.code, 64, explain(halfKey));
    await sh(machine, "rm /root/adopt_key /root/adopt_hosts");

    // A unit that is not gunicorn: its worker count must be given.
    await machine.writeFile(
      "/etc/systemd/system/plain.service",
      `[Service]\nUser=www-data\nWorkingDirectory=${APP}\nExecStart=/usr/bin/python3 -m http.server 8111\n`,
      0o644,
    );
    await sh(machine, "systemctl daemon-reload");
    const plainWas = await fingerprint();
    const plain = await agent(machine, ["adopt", "plain.service", "--repo", REMOTE]);
    assert.equal(plain.code, 1, explain(plain));
    assert.match(
      plain.stderr,
      /is not gunicorn: say how many worker processes it runs with --workers N/,
    );
    assert.equal(await fingerprint(), plainWas);
    await sh(machine, "rm /etc/systemd/system/plain.service && systemctl daemon-reload");

    // An app the config already has.
    await machine.writeFile(
      CONFIG,
      `apps:\n  datacharted:\n    dir: /srv/other\n    service: other.service\n    repo: { url: ${REMOTE} }\n`,
      0o640,
    );
    const configuredWas = await fingerprint();
    const configured = await adopt();
    assert.equal(configured.code, 1, explain(configured));
    assert.match(configured.stderr, /app "datacharted" is already in/);
    assert.equal(await fingerprint(), configuredWas);
    await sh(machine, `rm ${CONFIG}`);
  });

  test("--dry-run prints the plan and changes no file", async (t) => {
    const was = await fingerprint();
    const run = await adopt("--dry-run");
    assert.equal(run.code, 0, explain(run));
    t.diagnostic(`the plan, as printed:\n${run.stdout}`);
    for (const expected of [
      /1 master \+ 3 workers \(gunicorn --workers\)/,
      /app_dev\.db -> shared\/app_dev\.db \(SQLite, online backup/,
      /\.env -> shared\/\.env \(env\)/,
      /uploads -> shared\/uploads \(directory\)/,
      /static\/uploads -> shared\/static\/uploads \(directory\)/,
      /instance -> shared\/instance \(directory; SQLite inside by online backup: instance\/sessions\.db\)/,
      /rebuilt: +__pycache__, venv/,
      new RegExp(`WorkingDirectory=${APP}/current`),
      new RegExp(`ExecStart=${APP}/current/venv/bin/python -m gunicorn`),
      new RegExp(`Environment=DB_PATH=${APP}/current/app_dev.db`),
      /ReadWritePaths=-\/opt\/datacharted-app/,
      /install_cache:/,
      /dry run: nothing was changed/,
    ]) {
      assert.match(run.stdout, expected, explain(run));
    }
    assert.equal(await fingerprint(), was);
  });

  test("an adoption that does not verify puts the host back as it was", async () => {
    const writer = await writerStarted(10);
    const was = await fingerprint();
    // 5 workers expected, 3 run: the first release fails verify.
    const run = await adopt("--workers", "5");
    assert.equal(run.code, 1, explain(run));
    assert.match(run.stderr, /The host is as it was/, explain(run));
    assert.equal(await fingerprint(), was);
    const cwd = await sh(machine, `readlink /proc/$(systemctl show -P MainPID ${UNIT})/cwd`);
    assert.equal(cwd, APP);
    await waitForHealth(machine, "unknown");
    const report = await writer.stop();
    assert.ok(report.count > 0);
    const ids = await appRows(`${APP}/app_dev.db`);
    assert.deepEqual(
      report.ids.filter((id) => !ids.has(id)),
      [],
    );
  });

  test("a power cut after the checkout moved aside: the boot puts the host back", async () => {
    await installSyncUnit(machine);
    const was = await fingerprint();
    // Frozen the moment the checkout is aside (the app stopped, the layout half made), then cut.
    const adopting = machine.exec(["agent", "adopt", UNIT, "--repo", REMOTE], {
      timeoutMs: 300_000,
    });
    await sh(
      machine,
      `timeout 120 bash -c 'until ls -d ${APP}.pre-adopt-* >/dev/null 2>&1; do :; done; pkill -STOP -f "[a]gent.js adopt"'`,
      { timeoutMs: 130_000 },
    );
    assert.match(await sh(machine, "ls /var/lib/deploy-agent/adopt/"), /datacharted\.json/);
    await machine.powerCut();
    await adopting.catch(() => undefined);
    await machine.boot();
    await waitForHealth(machine, "unknown", 60_000).catch(async (error: Error) => {
      const state = await machine.sh(
        `systemctl status --no-pager deploy-agent-sync.service ${UNIT} 2>&1 | head -40; ls -la /opt /var/lib/deploy-agent/adopt 2>&1; journalctl -b --no-pager -u deploy-agent-sync.service -u ${UNIT} | tail -30`,
      );
      throw new Error(`${error.message}\n${state.stdout}`);
    });
    assert.equal(await fingerprint(), was);
    assert.equal(await sh(machine, "ls -A /var/lib/deploy-agent/adopt/ 2>/dev/null || true"), "");
    assert.match(
      await machine.journal("deploy-agent-sync.service", { currentBoot: true }),
      /an adoption cut short was undone/,
    );
    await sh(machine, "systemctl disable --quiet deploy-agent-sync.service");
  });

  test("adopted while a client writes: every answered write kept, check ok, the next push deploys", async (t) => {
    const writer = await writerStarted(20);
    const run = await adopt();
    assert.equal(run.code, 0, explain(run));
    t.diagnostic(`the adoption, as printed:\n${run.stdout}`);
    const aside = /kept, untouched, in (\S+)\./.exec(run.stdout)?.[1] ?? "";
    assert.match(aside, /^\/opt\/datacharted-app\.pre-adopt-\d{8}T\d{6}Z$/, run.stdout);
    await waitForHealth(machine, head);
    const report = await writer.stop();
    assert.ok(report.count > 0);
    const ids = await appRows(`${APP}/shared/app_dev.db`);
    assert.deepEqual(
      report.ids.filter((id) => !ids.has(id)),
      [],
      "acknowledged writes lost",
    );
    // .env and uploads came along; the checkout is still there, whole.
    assert.equal(await sh(machine, `cat ${APP}/current/.env`), "SECRET_KEY=datacharted-secret");
    assert.equal(await sh(machine, `stat -c '%a %U' ${APP}/shared/.env`), "600 www-data");
    assert.equal(await sh(machine, `cat ${APP}/current/uploads/cat.txt`), "picture");
    assert.equal(await sh(machine, `cat ${APP}/current/static/uploads/b.png`), "b");
    assert.equal(
      await sh(
        machine,
        `sqlite3 -readonly ${APP}/shared/instance/sessions.db "PRAGMA quick_check"`,
      ),
      "ok",
    );
    assert.equal(
      await sh(
        machine,
        `cd ${aside} && runuser -u www-data -- git status --porcelain --untracked-files=no`,
      ),
      "",
    );
    assert.equal(await sh(machine, `cat ${aside}/.env`), "SECRET_KEY=datacharted-secret");
    // The agent's units may write there.
    assert.match(
      await sh(machine, "cat /etc/systemd/system/deploy-agent.service.d/adopt-datacharted.conf"),
      /ReadWritePaths=-\/opt\/datacharted-app/,
    );
    const check = await agent(machine, ["check", "datacharted", "--json"]);
    assert.equal(check.code, 0, explain(check));
    const checks = JSON.parse(check.stdout) as { checks: { name: string; summary: string }[] };
    const processes = checks.checks.find((c) => c.name === "processes");
    assert.match(processes?.summary ?? "", /1 master \+ 3 workers/, check.stdout);

    const next = await pushCommit(machine, {
      remote: REMOTE,
      message: "after adoption",
      files: { "CHANGES.txt": "after adoption\n" },
    });
    const sync = await agent(machine, ["sync", "datacharted"]);
    assert.equal(sync.code, 0, explain(sync));
    await waitForHealth(machine, next);
    assert.equal(await sh(machine, `ls ${APP}/releases | wc -l`), "2");
  });

  test("a Capistrano layout adopted in place, deployed over and rolled back to", async () => {
    // The port is the adopted app's: it stops for this one.
    await sh(machine, `systemctl stop ${UNIT}`);
    await sh(machine, CAPISTRANO_SETUP, { timeoutMs: 120_000 });
    const [first, second] = (
      await sh(machine, `git --git-dir=${CAP_REMOTE} rev-list --reverse main`)
    ).split("\n");
    await machine.writeFile(`/etc/systemd/system/${CAP_UNIT}`, CAP_UNIT_TEXT, 0o644);
    await sh(machine, `systemctl daemon-reload && systemctl start ${CAP_UNIT}`);
    await waitForHealth(machine, second);
    const dry = await agent(machine, ["adopt", CAP_UNIT, "--repo", CAP_REMOTE, "--dry-run"]);
    assert.equal(dry.code, 0, explain(dry));
    assert.match(dry.stdout, /a Capistrano layout, adopted in place/, explain(dry));
    assert.match(dry.stdout, /live 20240102123456/, explain(dry));
    assert.equal(await sh(machine, `stat -c %U ${CAP} ${CAP}/releases | sort -u`), "www-data");

    const run = await agent(machine, ["adopt", CAP_UNIT, "--repo", CAP_REMOTE]);
    assert.equal(run.code, 0, explain(run));
    assert.equal(await sh(machine, `stat -c %U ${CAP} ${CAP}/releases | sort -u`), "root");
    assert.match(await sh(machine, `ls -d ${CAP}/repo.capistrano-*`), /repo\.capistrano-/);
    const check = await agent(machine, ["check", "cap", "--json"]);
    assert.equal(check.code, 0, explain(check));
    const release = (
      JSON.parse(check.stdout) as { checks: { name: string; summary: string }[] }
    ).checks.find((c) => c.name === "release");
    assert.equal(release?.summary, "20240102123456");

    const third = await pushCommit(machine, {
      remote: CAP_REMOTE,
      message: "after adoption",
      files: { "CHANGES.txt": "deployed by the agent\n" },
    });
    const sync = await agent(machine, ["sync", "cap"]);
    assert.equal(sync.code, 0, explain(sync));
    await waitForHealth(machine, third);
    const back = await agent(machine, ["rollback", "cap", "--to", "20240102123456"]);
    assert.equal(back.code, 0, explain(back));
    await waitForHealth(machine, second);
    assert.notEqual(first, second);
    await sh(machine, `systemctl stop ${CAP_UNIT}`);
  });

  async function appRows(db: string): Promise<Set<number>> {
    const py = `import sqlite3, sys
for (i,) in sqlite3.connect(sys.argv[1], timeout=10).execute("SELECT id FROM orders"): print(i)`;
    const out = await sh(machine, `/usr/bin/python3 -c '${py}' ${db}`);
    return new Set(out.split("\n").filter(Boolean).map(Number));
  }
});
