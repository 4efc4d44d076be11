// Root's copy of a file someone else may write is bounded: never a sparse file's claimed size.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { copyIntoNewFile } from "../../../src/fs/copy-file.js";
import { withPinnedDir } from "../../../src/fs/pinned-dir.js";

const dir = mkdtempSync(path.join(tmpdir(), "deploy-agent-copy-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o600 };

async function copy(source: string, name: string, bytes: number): Promise<number> {
  const handle = await open(source, "r");
  try {
    return await withPinnedDir(dir, (into) => copyIntoNewFile(handle, into, name, me, bytes));
  } finally {
    await handle.close();
  }
}

describe("copyIntoNewFile with a size", () => {
  test("copies exactly that many bytes of a plain file", async () => {
    const source = path.join(dir, "plain");
    writeFileSync(source, Buffer.alloc(3 * 4096, 7));
    assert.equal(await copy(source, "plain-copy", 8192), 8192);
    assert.deepEqual(readFileSync(path.join(dir, "plain-copy")), Buffer.alloc(8192, 7));
  });

  test("refuses a sparse file's claimed size, writing nothing", async () => {
    const source = path.join(dir, "sparse");
    writeFileSync(source, "x");
    truncateSync(source, 64 * 1024 * 1024 * 1024);
    await assert.rejects(copy(source, "sparse-copy", 64 * 1024 * 1024 * 1024), /sparse/);
    assert.throws(() => readFileSync(path.join(dir, "sparse-copy")), /ENOENT/);
  });
});
