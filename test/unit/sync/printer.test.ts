// The step list on a terminal: titles, notes and lines made printable, colour kept.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { streamPrinter } from "../../../src/sync/printer.js";
import { ESC, unsafeIn, withoutColour } from "../output/terminal-text.js";

// A stream that remembers what was written to it.
function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: {
      isTTY,
      write(text: string) {
        chunks.push(text);
        return true;
      },
    },
  };
}

let noColor: string | undefined;
beforeEach(() => {
  noColor = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
});
afterEach(() => {
  if (noColor === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = noColor;
});

describe("streamPrinter", () => {
  test("a note with an OSC sequence is shown, not obeyed; the outcome keeps its colour", () => {
    const { chunks, stream } = fakeStream(true);
    const printer = streamPrinter(stream);
    printer.begin("migrate");
    printer.end("migrate", 300, "failed", "exit 1 \x1b]0;pwned\x07\x1b[2J");
    const row = chunks[1] ?? "";
    // The printer's own codes: erase the line it completes, colour the outcome.
    assert.ok(row.startsWith("\r\x1b[K  migrate"));
    assert.ok(
      row.endsWith(`${ESC}[31mfailed${ESC}[0m  exit 1 \\x1b]0;pwned\\x07\\x1b[2J\n`),
      JSON.stringify(row),
    );
    // Nothing else: the erase and the colour are the only escapes.
    assert.equal(row.split(ESC).length - 1, 3);
  });

  test("title and lines are made printable and stay one line", () => {
    const { chunks, stream } = fakeStream(false);
    const printer = streamPrinter(stream);
    printer.title("shop: deploying 3f2a1c9 (main\u202e) over 1b2c3d4");
    printer.line("shop: fetch failed: fatal: x\nfatal: \x9b2J");
    assert.deepEqual(chunks, [
      "shop: deploying 3f2a1c9 (main\\u202e) over 1b2c3d4\n",
      "shop: fetch failed: fatal: x fatal: \\x9b2J\n",
    ]);
  });

  test("on a pipe each step is written once, without any escape", () => {
    const { chunks, stream } = fakeStream(false);
    const printer = streamPrinter(stream);
    printer.begin("build");
    printer.end("build", 1200, "ok", "npm ci \x1b[1A");
    assert.deepEqual(chunks, ["  build      1.2s  ok  npm ci \\x1b[1A\n"]);
    assert.deepEqual(unsafeIn(withoutColour(chunks.join(""))), []);
  });
});
