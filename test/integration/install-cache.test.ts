// hooks.install_cache on a real machine: a real virtualenv with a real `pip install` (offline:
// --system-site-packages and --no-index, the requirements met by Debian's packages), built once
// per requirements.txt and linked into each release; a code-only deploy builds in about a second.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import { provisionShop, pushCommit, SHOP_DIR } from "../machine/sample-app.js";
import { agent, explain, listDir, sh, skipUnlessRoot } from "./sync-helpers.js";

const RUNS = `${SHOP_DIR}/shared/install-runs`;
const FAIL = `${SHOP_DIR}/shared/fail-install`;
const HOOK = `echo "$DEPLOY_AGENT_REVISION" >> ${RUNS} && test ! -e ${FAIL} && python3 -m venv --system-site-packages venv && venv/bin/pip install --no-index --disable-pip-version-check -q -r requirements.txt`;

describe("hooks.install_cache: dependencies built once per content", {
  skip: skipUnlessRoot,
}, () => {
  let machine: Machine;

  before(async () => {
    machine = await bootMachine({ name: "install-cache" });
    await provisionShop(machine, {
      config: {
        app: {
          hooks: { install: HOOK, install_cache: { key: ["requirements.txt"], path: "venv" } },
          releases: { keep: 2 },
        },
      },
    });
  });
  after(async () => {
    await machine?.destroy();
  });

  async function deploy(message: string, files: Record<string, string>, code = 0) {
    const sha = await pushCommit(machine, {
      message,
      files: { "CHANGES.txt": `${message}\n`, ...files },
    });
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, code, explain(run));
    const history = JSON.parse(
      (await agent(machine, ["history", "--json", "--limit", "1"])).stdout,
    );
    const build = history.apps[0].deployments[0].steps.find(
      (s: { step: string }) => s.step === "build",
    );
    return { sha, run, build: build as { durationMs: number; message: string | null } };
  }
  const runs = async () =>
    (await sh(machine, `cat ${RUNS} 2>/dev/null || true`)).split("\n").filter(Boolean);
  const envs = () => listDir(machine, `${SHOP_DIR}/shared/cache`);

  test("three deploys, two distinct requirements.txt: the hook ran twice, the code-only deploy built in under 2 s", async () => {
    const first = await deploy("requirements A", { "requirements.txt": "flask\n" });
    assert.match(first.run.stdout, /venv built \([0-9a-f]{12}\)/);
    const code = await deploy("code only", { "app_note.txt": "code\n" });
    assert.match(code.run.stdout, /venv reused \([0-9a-f]{12}\)/);
    console.log(
      `# build with the environment built: ${first.build.durationMs} ms; reused: ${code.build.durationMs} ms`,
    );
    assert.ok(code.build.durationMs < 2000, `code-only build ${code.build.durationMs} ms`);
    const third = await deploy("requirements B", { "requirements.txt": "flask\ngunicorn\n" });
    assert.match(third.run.stdout, /venv built/);
    assert.deepEqual(await runs(), [first.sha, third.sha]);
    // Each release links its environment; the app user's python in it works.
    const link = await sh(machine, `readlink ${SHOP_DIR}/current/venv`);
    assert.match(link, /^\.\.\/\.\.\/shared\/cache\/[0-9a-f]{24}\/venv$/);
    await sh(
      machine,
      `runuser -u www-data -- ${SHOP_DIR}/current/venv/bin/python -c 'import flask'`,
    );
    assert.equal((await envs()).length, 2);
  });

  test("an environment no kept release links is pruned; a failed hook leaves none behind", async () => {
    // releases.keep 2: after another code-only deploy only requirements B's releases are kept.
    await deploy("code only again", { "app_note.txt": "again\n" });
    const kept = await envs();
    assert.equal(kept.length, 1, kept.join(" "));
    await sh(machine, `touch ${FAIL} && chown www-data ${FAIL}`);
    const failed = await deploy(
      "requirements C, hook fails",
      { "requirements.txt": "flask\njinja2\n" },
      1,
    );
    assert.match(failed.run.stdout + failed.run.stderr, /build failed/);
    assert.deepEqual(await envs(), kept, "the failed build's environment is gone");
    await sh(machine, `rm ${FAIL}`);
    const ok = await agent(machine, ["sync"]);
    assert.equal(ok.code, 0, explain(ok));
    assert.match(ok.stdout, /venv built/);
    assert.ok((await sh(machine, `ls ${SHOP_DIR}/shared/cache/*/.complete | wc -l`)) === "2");
  });
});
