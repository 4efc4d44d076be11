// The upstream file: exactly the agent's two lines, written atomically inside a root-only
// directory, never through a link, and put back as it was when asked.
import assert from "node:assert/strict";
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  formatUpstream,
  parseUpstream,
  readUpstream,
  restoreUpstream,
  UpstreamFormatError,
  writeUpstream,
} from "../../../src/proxy/upstream-file.js";

describe("formatUpstream", () => {
  test("is the comment naming app and color, then the one server line", () => {
    assert.equal(
      formatUpstream({ app: "shop", color: "green", port: 8002 }),
      "# written by deploy-agent for shop: serving green\nserver 127.0.0.1:8002;\n",
    );
  });

  test("refuses an app name or port that would break nginx's syntax", () => {
    assert.throws(
      () => formatUpstream({ app: "shop;\nserver evil:80", color: "blue", port: 8001 }),
      /app name .* is not a plain word/,
    );
    for (const port of [0, 65536, 80.5]) {
      assert.throws(
        () => formatUpstream({ app: "shop", color: "blue", port }),
        /is not a TCP port from 1 to 65535/,
      );
    }
  });
});

describe("parseUpstream", () => {
  test("reads the port of what formatUpstream writes", () => {
    const text = formatUpstream({ app: "shop", color: "blue", port: 8001 });
    assert.deepEqual(parseUpstream(text, "f"), { port: 8001 });
  });

  test("skips blank lines, comments and surrounding spaces", () => {
    assert.deepEqual(parseUpstream("\n# a\n  server 127.0.0.1:9;  \n\n", "f"), { port: 9 });
  });

  const refused: [string, string, RegExp][] = [
    [
      "another directive",
      "# x\nkeepalive 8;\n",
      /^f line 2: expected "server 127\.0\.0\.1:PORT;", found "keepalive 8;"/,
    ],
    ["another host", "server 10.0.0.1:8001;\n", /^f line 1: expected/],
    ["an option after the address", "server 127.0.0.1:8001 backup;\n", /^f line 1: expected/],
    ["port 0", "server 127.0.0.1:0;\n", /^f line 1: expected/],
    ["port 70000", "server 127.0.0.1:70000;\n", /^f line 1: expected/],
    [
      "two servers",
      "server 127.0.0.1:1;\nserver 127.0.0.1:2;\n",
      /^f line 2: a second server line/,
    ],
    ["no server", "# only a comment\n", /^f names no server$/],
    ["an empty file", "", /^f names no server$/],
  ];
  for (const [name, text, expected] of refused) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => parseUpstream(text, "f"),
        (error: Error) => error instanceof UpstreamFormatError && expected.test(error.message),
      );
    });
  }

  test("quotes a bad line printable and short", () => {
    assert.throws(
      () => parseUpstream(`\u001b]0;x\u0007${"a".repeat(200)}\n`, "f"),
      (error: Error) => {
        assert.ok(!error.message.includes("\u001b") && !error.message.includes("\u0007"));
        assert.ok(error.message.length < 200, error.message);
        return true;
      },
    );
  });
});

const isRoot = process.getuid?.() === 0;

describe("writing the upstream file", {
  skip: isRoot ? false : "needs root (root-only directories)",
}, () => {
  // Stands in for /etc/nginx: root's, as mkdtemp makes it (0700).
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), "deploy-agent-upstream-")));
  after(() => rmSync(root, { recursive: true, force: true }));
  const file = path.join(root, "deploy-agent", "shop.upstream");

  test("makes the directory (0755), writes the file (0644), and there was nothing before", async () => {
    assert.equal(await readUpstream(file, root), undefined);
    const previous = await writeUpstream(file, { app: "shop", color: "blue", port: 8001 }, root);
    assert.equal(previous, undefined);
    assert.equal(statSync(path.dirname(file)).mode & 0o7777, 0o755);
    assert.equal(statSync(file).mode & 0o7777, 0o644);
    assert.equal(
      readFileSync(file, "utf8"),
      "# written by deploy-agent for shop: serving blue\nserver 127.0.0.1:8001;\n",
    );
    assert.deepEqual(await readUpstream(file, root), { port: 8001 });
  });

  test("an operator's file at the path (not the agent's format) is refused, left as it was", async () => {
    const other = path.join(root, "conf.d", "default.conf");
    mkdirSync(path.dirname(other), { mode: 0o755 });
    writeFileSync(other, "server { listen 80; }\n");
    await assert.rejects(
      writeUpstream(other, { app: "shop", color: "blue", port: 8001 }, root),
      /server 127\.0\.0\.1:PORT/,
    );
    assert.equal(readFileSync(other, "utf8"), "server { listen 80; }\n");
  });

  test("a second write replaces the file, returns the old text, and leaves no temporary file", async () => {
    const before = readFileSync(file, "utf8");
    const previous = await writeUpstream(file, { app: "shop", color: "green", port: 8002 }, root);
    assert.equal(previous, before);
    assert.deepEqual(await readUpstream(file, root), { port: 8002 });
    assert.deepEqual(readdirSync(path.dirname(file)), ["shop.upstream"]);
  });

  test("restoreUpstream puts the old text back, or removes the file when there was none", async () => {
    const previous = await writeUpstream(file, { app: "shop", color: "blue", port: 8001 }, root);
    await restoreUpstream(file, previous, root);
    assert.deepEqual(await readUpstream(file, root), { port: 8002 });
    await restoreUpstream(file, undefined, root);
    assert.equal(await readUpstream(file, root), undefined);
    assert.deepEqual(readdirSync(path.dirname(file)), []);
  });

  test("a temporary file left by an interrupted write is replaced, not in the way", async () => {
    writeFileSync(path.join(path.dirname(file), ".shop.upstream.tmp"), "half");
    await writeUpstream(file, { app: "shop", color: "blue", port: 8001 }, root);
    assert.deepEqual(readdirSync(path.dirname(file)), ["shop.upstream"]);
  });

  test("a symlink at the file's place is refused and its target untouched", async () => {
    const target = path.join(root, "target");
    writeFileSync(target, "precious\n");
    const link = path.join(root, "deploy-agent", "link.upstream");
    symlinkSync(target, link);
    await assert.rejects(
      writeUpstream(link, { app: "shop", color: "blue", port: 8001 }, root),
      /link\.upstream is a symlink: refused/,
    );
    assert.equal(readFileSync(target, "utf8"), "precious\n");
    assert.equal(readlinkSync(link), target);
    await assert.rejects(readUpstream(link, root), /is a symlink: refused/);
  });

  test("a directory at the file's place is refused", async () => {
    const dir = path.join(root, "deploy-agent", "dir.upstream");
    mkdirSync(dir);
    await assert.rejects(
      writeUpstream(dir, { app: "shop", color: "blue", port: 8001 }, root),
      /dir\.upstream is a directory, expected a regular file/,
    );
    assert.ok(lstatSync(dir).isDirectory());
  });

  test("a file much larger than the agent's is refused, not read whole", async () => {
    const big = path.join(root, "deploy-agent", "big.upstream");
    writeFileSync(big, "#".repeat(100_000));
    await assert.rejects(
      writeUpstream(big, { app: "shop", color: "blue", port: 8001 }, root),
      /big\.upstream holds more than 4096 bytes/,
    );
    assert.equal(statSync(big).size, 100_000);
  });

  test("a symlinked directory on the way is refused, nothing written where it leads", async () => {
    const elsewhere = mkdtempSync(path.join(tmpdir(), "deploy-agent-elsewhere-"));
    after(() => rmSync(elsewhere, { recursive: true, force: true }));
    symlinkSync(elsewhere, path.join(root, "trick"));
    await assert.rejects(
      writeUpstream(
        path.join(root, "trick", "s.upstream"),
        { app: "s", color: "blue", port: 1 },
        root,
      ),
      /trick is not a directory/,
    );
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  test("a directory another user owns is refused", async () => {
    const theirs = path.join(root, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, 65534, 65534);
    await assert.rejects(
      writeUpstream(path.join(theirs, "s.upstream"), { app: "s", color: "blue", port: 1 }, root),
      /theirs is owned by uid 65534 with mode 755: only root may write/,
    );
    assert.deepEqual(readdirSync(theirs), []);
  });

  test("a file outside the allowed root is refused", async () => {
    await assert.rejects(
      writeUpstream(
        path.join(root, "..", "x.upstream"),
        { app: "s", color: "blue", port: 1 },
        root,
      ),
      /is not inside .*: refused/,
    );
  });
});
