// How git is told to reach a private remote, and how ssh's failures are said: pure functions.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AppConfig } from "../../../src/config/schema.js";
import { sshProblem } from "../../../src/git/fetch.js";
import { remoteAccess } from "../../../src/git/remote-access.js";

const repo = (extra: Partial<AppConfig["repo"]>): AppConfig["repo"] => ({
  url: "git@git.example.com:team/shop.git",
  branch: "main",
  fetch_timeout: 60_000,
  allow_rewrites: false,
  ...extra,
});

test("a deploy key: only that key, only the pinned host keys, no agent, no user config, no prompt", () => {
  const access = remoteAccess(
    repo({ ssh_key: "/etc/deploy-agent/key", known_hosts: "/etc/deploy-agent/known" }),
  );
  const ssh = access.env.GIT_SSH_COMMAND ?? "";
  for (const option of [
    "-F /dev/null",
    "-o BatchMode=yes",
    "-o IdentitiesOnly=yes",
    "-o IdentityAgent=none",
    "-o IdentityFile='/etc/deploy-agent/key'",
    "-o UserKnownHostsFile='/etc/deploy-agent/known'",
    "-o GlobalKnownHostsFile=/dev/null",
    "-o StrictHostKeyChecking=yes",
    "-o CheckHostIP=no",
  ]) {
    assert.ok(ssh.includes(option), `${option} in ${ssh}`);
  }
  assert.doesNotMatch(ssh, /accept-new|StrictHostKeyChecking=no/);
  assert.deepEqual(access.config, []);
});

test("a token: a credential helper that reads the file when asked; the token itself in no argument", () => {
  const access = remoteAccess(
    repo({
      url: "https://git.example.com/team/shop.git",
      token_file: "/etc/deploy-agent/shop.token",
    }),
  );
  assert.deepEqual(access.env, {});
  assert.equal(access.config[0], "-c");
  assert.equal(
    access.config[1],
    "credential.helper=",
    "any other helper (a store) is dropped first",
  );
  const helper = access.config[3] ?? "";
  assert.match(
    helper,
    /^credential\.helper=!f\(\) \{ test "\$1" = get \|\| exit 0; echo username=x-access-token; printf password=; tr -d '\\r\\n' < '\/etc\/deploy-agent\/shop\.token'; echo; \}; f$/,
  );
  // A user name in the URL is git's to send.
  assert.deepEqual(access.config.slice(4), ["-c", "http.followRedirects=false"]);
  const named = remoteAccess(
    repo({ url: "https://deploy@git.example.com/shop.git", token_file: "/t" }),
  );
  assert.doesNotMatch(named.config[3] ?? "", /username=/);
  assert.deepEqual(remoteAccess(repo({})), { env: {}, config: [] });
});

test("ssh's failures in one line that names the host", () => {
  assert.equal(
    sshProblem(
      "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.\nfatal: Could not read from remote repository.",
    ),
    "host key of [127.0.0.1]:2222 is not in repo.known_hosts: refused (an unknown host key is never accepted)",
  );
  assert.equal(
    sshProblem(
      "@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key for [127.0.0.1]:2222 has changed and you have requested strict checking.\nHost key verification failed.",
    ),
    "host key of [127.0.0.1]:2222 does not match the one pinned in repo.known_hosts: refused",
  );
  assert.equal(
    sshProblem(
      "git@127.0.0.1: Permission denied (publickey).\nfatal: Could not read from remote repository.",
    ),
    "git@127.0.0.1 refused the deploy key (Permission denied (publickey))",
  );
  assert.equal(sshProblem("fatal: repository not found"), undefined);
});
