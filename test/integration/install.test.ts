// install/install.sh and install/uninstall.sh on a real machine, from a copy of the checkout (the
// machine's /opt/deploy-agent is the read-only checkout itself, so the agent goes elsewhere).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { GUEST_REPO } from "../machine/paths.js";
import { sh as shell, skipUnlessRoot as skip } from "./sync-helpers.js";

const CHECKOUT = "/root/deploy-agent";
const PREFIX = "/opt/agent-under-test";

describe("install.sh and uninstall.sh", { skip }, () => {
  let machine: Machine;
  // install.sh builds the agent, which takes longer than the default time-out.
  const sh = (script: string) => shell(machine, script, { timeoutMs: 300_000 });
  const install = () => sh(`PREFIX=${PREFIX} bash ${CHECKOUT}/install/install.sh`);
  // "mode owner:group" of a path.
  const stat = (file: string) => sh(`stat -c '%a %U:%G' ${file}`);

  before(async () => {
    machine = await bootMachine({ name: "install" });
    // The dependencies are already installed (the host's), so install.sh runs offline here.
    await sh(`cp -a ${GUEST_REPO} ${CHECKOUT} && rm -rf ${CHECKOUT}/dist /etc/deploy-agent`);
  });

  after(async () => {
    await machine?.destroy();
  });

  test("a first install: program, commands, config, token, state and units", async () => {
    await install();
    const version = JSON.parse(await sh(`cat ${CHECKOUT}/package.json`)).version as string;
    assert.equal(await sh("agent --version"), version);
    assert.equal(await sh("deploy-agent --version"), version);
    assert.match(await sh("cat /usr/local/bin/agent"), new RegExp(`${PREFIX}/dist/agent/agent.js`));
    // Production dependencies only: the build tools stayed in the checkout.
    await sh(
      `test -d ${PREFIX}/node_modules/better-sqlite3 && test ! -e ${PREFIX}/node_modules/typescript`,
    );
    assert.equal(await stat("/etc/deploy-agent"), "755 root:root");
    assert.equal(await stat("/etc/deploy-agent/agent.yaml"), "640 root:root");
    assert.equal(await stat("/etc/deploy-agent/token"), "600 root:root");
    assert.match(await sh("cat /etc/deploy-agent/token"), /^[0-9a-f]{64}$/);
    assert.equal(await stat("/var/lib/deploy-agent"), "750 root:root");
    await sh(
      "systemd-analyze verify /etc/systemd/system/deploy-agent.service /etc/systemd/system/deploy-agent-sync.service",
    );
    // One command gives boot sync and checks (Also=).
    await sh("systemctl enable deploy-agent.service");
    assert.equal(await sh("systemctl is-enabled deploy-agent-sync.service"), "enabled");
  });

  test("installing again upgrades the program and keeps the operator's config and token", async () => {
    await sh("echo '# edited by the operator' >> /etc/deploy-agent/agent.yaml");
    const token = await sh("cat /etc/deploy-agent/token");
    await install();
    assert.match(await sh("tail -1 /etc/deploy-agent/agent.yaml"), /edited by the operator/);
    assert.equal(await sh("cat /etc/deploy-agent/token"), token);
    await sh(`test ! -e ${PREFIX}.new && test ! -e ${PREFIX}.old && agent --version`);
  });

  test("uninstall keeps config and state; --purge removes them but never an app's directory", async () => {
    await sh("mkdir -p /srv/shop/backups && echo row > /srv/shop/backups/keep.bak");
    await sh(`PREFIX=${PREFIX} bash ${CHECKOUT}/install/uninstall.sh`);
    await sh(
      `test ! -e ${PREFIX} && test ! -e /usr/local/bin/agent && test ! -e /usr/local/bin/deploy-agent`,
    );
    await sh(
      "test ! -e /etc/systemd/system/deploy-agent.service && test ! -e /etc/systemd/system/deploy-agent-sync.service",
    );
    assert.equal(await sh("systemctl is-enabled deploy-agent-sync.service || true"), "");
    await sh(
      "test -f /etc/deploy-agent/agent.yaml && test -f /etc/deploy-agent/token && test -d /var/lib/deploy-agent",
    );
    await sh(`PREFIX=${PREFIX} bash ${CHECKOUT}/install/uninstall.sh --purge`);
    await sh("test ! -e /etc/deploy-agent && test ! -e /var/lib/deploy-agent");
    assert.equal(await sh("cat /srv/shop/backups/keep.bak"), "row");
  });
});
