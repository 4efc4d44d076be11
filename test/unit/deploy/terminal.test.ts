// The step list on a terminal: titles, notes and lines made printable, colour kept.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { terminalSink } from "../../../src/deploy/terminal.js";
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

describe("terminalSink", () => {
  test("a note with an OSC sequence is shown, not obeyed; the outcome keeps its colour", () => {
    const { chunks, stream } = fakeStream(true);
    const emit = terminalSink(stream);
    emit({ type: "step-begin", app: "shop", step: "migrate" });
    emit({
      type: "step-end",
      app: "shop",
      step: "migrate",
      durationMs: 300,
      outcome: "failed",
      note: "exit 1 \x1b]0;pwned\x07\x1b[2J",
    });
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
    const emit = terminalSink(stream);
    emit({
      type: "run",
      app: "shop",
      kind: "deploy",
      text: "shop: deploying 3f2a1c9 (main\u202e) over 1b2c3d4",
    });
    emit({ type: "said", app: "shop", text: "shop: fetch failed: fatal: x\nfatal: \x9b2J" });
    assert.deepEqual(chunks, [
      "shop: deploying 3f2a1c9 (main\\u202e) over 1b2c3d4\n",
      "shop: fetch failed: fatal: x fatal: \\x9b2J\n",
    ]);
  });

  test("on a pipe each step is written once, without any escape", () => {
    const { chunks, stream } = fakeStream(false);
    const emit = terminalSink(stream);
    emit({ type: "step-begin", app: "shop", step: "build" });
    emit({
      type: "step-end",
      app: "shop",
      step: "build",
      durationMs: 1200,
      outcome: "ok",
      note: "npm ci \x1b[1A",
    });
    assert.deepEqual(chunks, ["  build      1.2s  ok  npm ci \\x1b[1A\n"]);
    assert.deepEqual(unsafeIn(withoutColour(chunks.join(""))), []);
  });

  test("progress replaces the step's line in place on a terminal, and is made printable", () => {
    const { chunks, stream } = fakeStream(true);
    const emit = terminalSink(stream);
    emit({ type: "step-begin", app: "shop", step: "drain" });
    emit({
      type: "step-progress",
      app: "shop",
      step: "drain",
      text: "draining blue: 3 connections\x1b[2J",
    });
    assert.equal(chunks[1], "\r\x1b[K  drain    …  draining blue: 3 connections\\x1b[2J");
  });

  test("on a pipe progress right after the step began is not written (at most every 10 s)", () => {
    const { chunks, stream } = fakeStream(false);
    const emit = terminalSink(stream);
    emit({ type: "step-begin", app: "shop", step: "drain" });
    emit({
      type: "step-progress",
      app: "shop",
      step: "drain",
      text: "draining blue: 3 connections",
    });
    assert.deepEqual(chunks, []);
  });
});
