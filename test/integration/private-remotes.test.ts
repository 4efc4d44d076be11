// Private remotes on a real machine: a real sshd serving the repository to a deploy key, with the
// host key pinned; a real `git http-backend` behind nginx (through fcgiwrap) with basic auth,
// fetched with a token from a file. Wrong key, wrong host key, wrong token: exit 1 within
// fetch_timeout, the app untouched, the cause in one line; the token is found nowhere after.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bootMachine, type Machine } from "../machine/machine.js";
import {
  AGENT_CONFIG_PATH,
  type ConfigObject,
  provisionShop,
  pushCommit,
  SHOP_REMOTE,
  shopConfigYaml,
} from "../machine/sample-app.js";
import { agentCheck, checkOf } from "./check-helpers.js";
import { agent, assertServing, explain, sh, skipUnlessRoot } from "./sync-helpers.js";

const SSH_URL = "ssh://git@127.0.0.1:2222/home/git/shop.git";
const HTTP_URL = "http://127.0.0.1:8080/git/shop.git";
const TOKEN = "tok-3f9a1c-not-a-real-secret-7b2e";
const KEY = "/etc/deploy-agent/deploy_key";
const KNOWN = "/etc/deploy-agent/known_hosts";
const TOKEN_FILE = "/etc/deploy-agent/shop.token";

describe("private remotes: deploy key over ssh, token over http", { skip: skipUnlessRoot }, () => {
  let machine: Machine;
  let live: string;

  const writeConfig = (repo: Record<string, string>, app: ConfigObject = {}) =>
    machine.writeFile(
      AGENT_CONFIG_PATH,
      shopConfigYaml({ app: { repo: { branch: "main", fetch_timeout: "10s", ...repo }, ...app } }),
      0o644,
    );
  // A new commit on the shared history: pushed to the local remote, then to the served copies.
  async function newCommit(message: string): Promise<string> {
    const sha = await pushCommit(machine, { message, files: { "CHANGES.txt": `${message}\n` } });
    await sh(
      machine,
      // root pushes into root's repositories only (git refuses another user's), so each served
      // copy is root's for the moment of the push.
      `for d in /home/git/shop.git /srv/git-http/shop.git; do
         chown -R root:root "$d"; git --git-dir=${SHOP_REMOTE} push -q "$d" main; done
       chown -R git:git /home/git/shop.git; chown -R www-data:www-data /srv/git-http/shop.git`,
    );
    return sha;
  }

  before(async () => {
    machine = await bootMachine({ name: "private" });
    live = (await provisionShop(machine)).sha;
    // sshd on 2222 with a host key of its own; the repository belongs to `git`, whose only
    // shell is git-shell and whose only key is the deploy key.
    await sh(
      machine,
      `useradd -m -s /usr/bin/git-shell git
       git clone -q --bare ${SHOP_REMOTE} /home/git/shop.git
       install -d -m 700 -o git -g git /home/git/.ssh
       ssh-keygen -q -t ed25519 -N '' -C deploy -f ${KEY}
       install -m 600 -o git -g git ${KEY}.pub /home/git/.ssh/authorized_keys
       chown -R git:git /home/git/shop.git
       install -d -m 700 /etc/test-sshd /run/sshd
       ssh-keygen -q -t ed25519 -N '' -f /etc/test-sshd/host_key
       ssh-keygen -q -t ed25519 -N '' -f /etc/test-sshd/other_host_key
       echo "[127.0.0.1]:2222 $(cut -d' ' -f1,2 /etc/test-sshd/host_key.pub)" > ${KNOWN}
       systemd-run --quiet --unit=test-sshd /usr/sbin/sshd -D -p 2222 -o ListenAddress=127.0.0.1 \\
         -h /etc/test-sshd/host_key -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no
       # git http-backend behind nginx, basic auth with the token as the password.
       mkdir -p /srv/git-http
       git clone -q --bare ${SHOP_REMOTE} /srv/git-http/shop.git
       chown -R www-data:www-data /srv/git-http/shop.git
       printf 'x-access-token:%s\\n' "$(openssl passwd -apr1 '${TOKEN}')" > /etc/nginx/git.htpasswd
       cat > /etc/nginx/sites-enabled/git <<'EOF'
server {
  listen 127.0.0.1:8080;
  location ~ ^/git(/.*)$ {
    auth_basic "git";
    auth_basic_user_file /etc/nginx/git.htpasswd;
    include fastcgi_params;
    fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
    fastcgi_param GIT_PROJECT_ROOT /srv/git-http;
    fastcgi_param GIT_HTTP_EXPORT_ALL "";
    fastcgi_param PATH_INFO $1;
    fastcgi_param REMOTE_USER $remote_user;
    fastcgi_pass unix:/run/fcgiwrap.socket;
  }
}
EOF
       rm -f /etc/nginx/sites-enabled/default
       systemctl start fcgiwrap.socket nginx.service`,
    );
    await machine.waitFor(
      async () =>
        (await machine.exec(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2222"])).exitCode === 0 ||
        undefined,
      10_000,
      { what: "sshd on 2222" },
    );
  });
  after(async () => {
    await machine?.destroy();
  });

  test("ssh: the deploy key with the pinned host key deploys; agent check reports the key files", async () => {
    await writeConfig({ url: SSH_URL, ssh_key: KEY, known_hosts: KNOWN });
    const sha = await newCommit("over ssh");
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertServing(machine, sha);
    live = sha;
    let { report } = await agentCheck(machine);
    assert.equal(checkOf(report, "remote").status, "ok", JSON.stringify(checkOf(report, "remote")));
    await sh(machine, `chmod 644 ${KEY}`);
    ({ report } = await agentCheck(machine));
    assert.equal(checkOf(report, "remote").status, "warning");
    assert.match(
      checkOf(report, "remote").summary,
      /repo\.ssh_key .*mode 644 lets others read a secret/,
    );
    await sh(machine, `chmod 600 ${KEY}`);
  });

  test("ssh: a changed host key, an unknown one, a wrong deploy key: refused within fetch_timeout, the app untouched", async () => {
    const sha = await newCommit("not over this ssh");
    const pids = await assertServing(machine, live);
    const cases: [string, string, RegExp][] = [
      [
        "changed host key",
        `echo "[127.0.0.1]:2222 $(cut -d' ' -f1,2 /etc/test-sshd/other_host_key.pub)" > ${KNOWN}`,
        /host key of \[127\.0\.0\.1\]:2222 does not match the one pinned in repo\.known_hosts: refused/,
      ],
      [
        "unknown host",
        `: > ${KNOWN}`,
        /host key of \[127\.0\.0\.1\]:2222 is not in repo\.known_hosts: refused/,
      ],
      [
        "wrong deploy key",
        `echo "[127.0.0.1]:2222 $(cut -d' ' -f1,2 /etc/test-sshd/host_key.pub)" > ${KNOWN}
         cp ${KEY} ${KEY}.good && ssh-keygen -q -t ed25519 -N '' -f /tmp/other && cp /tmp/other ${KEY}`,
        /refused the deploy key \(Permission denied \(publickey\)\)/,
      ],
    ];
    for (const [what, setup, expected] of cases) {
      await sh(machine, setup);
      const run = await agent(machine, ["sync"]);
      assert.equal(run.code, 1, `${what}: ${explain(run)}`);
      assert.match(run.stdout + run.stderr, expected, what);
      assert.ok(run.ms < 15_000, `${what}: ${run.ms} ms`);
    }
    assert.deepEqual(await assertServing(machine, live), pids);
    await sh(machine, `mv ${KEY}.good ${KEY}`);
    const run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertServing(machine, sha);
    live = sha;
  });

  test("http: the token works, a wrong one is refused, and the token is nowhere on disk or in the journal", async () => {
    await machine.writeFile(TOKEN_FILE, `${TOKEN}\n`, 0o600);
    // The promotion push goes over the same remote with the same token.
    await writeConfig(
      { url: HTTP_URL, token_file: TOKEN_FILE },
      { promote: { branch: "verified/uat" } },
    );
    const sha = await newCommit("over http");
    let run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertServing(machine, sha);
    live = sha;
    const next = await newCommit("not with this token");
    await machine.writeFile(TOKEN_FILE, "wrong-token\n", 0o600);
    run = await agent(machine, ["sync"]);
    assert.equal(run.code, 1, explain(run));
    assert.match(
      run.stdout + run.stderr,
      /Authentication failed for 'http:\/\/127\.0\.0\.1:8080\/git\/shop\.git\/'/,
    );
    assert.ok(run.ms < 15_000, `${run.ms} ms`);
    await assertServing(machine, live);
    await machine.writeFile(TOKEN_FILE, `${TOKEN}\n`, 0o600);
    run = await agent(machine, ["sync"]);
    assert.equal(run.code, 0, explain(run));
    await assertServing(machine, next);
    assert.match(run.stdout, /promoted [0-9a-f]{12} to verified\/uat/);
    assert.equal(
      await sh(machine, "git --git-dir=/srv/git-http/shop.git rev-parse verified/uat"),
      next,
    );
    // Nowhere but its own file: not in repo/config, the state DB, the releases, the journal.
    const found = await machine.exec([
      "bash",
      "-c",
      `grep -rlF --exclude=shop.token -- '${TOKEN}' /etc /srv /var/lib/deploy-agent /root /run /tmp 2>/dev/null; journalctl --no-pager | grep -cF -- '${TOKEN}'`,
    ]);
    assert.equal(found.stdout.trim(), "0", found.stdout);
  });
});
