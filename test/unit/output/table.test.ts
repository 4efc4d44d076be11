// Tables: every cell made printable, and the agent's own colour on the status column only.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { colourStatus, renderTable } from "../../../src/output/table.js";
import { ESC, unsafeIn, withoutColour } from "./terminal-text.js";

const terminal = { isTTY: true };
const pipe = { isTTY: false };

// Colour depends on NO_COLOR as well as the stream: clear it for these tests, then put it back.
let noColor: string | undefined;
beforeEach(() => {
  noColor = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
});
afterEach(() => {
  if (noColor === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = noColor;
});

describe("renderTable", () => {
  const headers = ["CHECK", "STATUS", "SUMMARY"];

  test("a cell with an escape sequence renders without ESC, the status keeps its colour", () => {
    const text = renderTable(headers, [["health", "critical", "serving \x1b[2Jpwned"]], {
      statusColumn: "STATUS",
      stream: terminal,
    });
    const [, row] = text.split("\n");
    assert.equal(row, "health  \x1b[31mcritical\x1b[0m  serving \\x1b[2Jpwned");
    // The only ESCs left are the two of the agent's colour.
    assert.equal(text.split(ESC).length - 1, 2);
    assert.deepEqual(unsafeIn(withoutColour(text)), []);
  });

  test("on a pipe nothing is coloured and nothing escapes", () => {
    const text = renderTable(headers, [["health", "ok", "v1\x1b]0;t\x07"]], {
      statusColumn: "STATUS",
      stream: pipe,
    });
    assert.equal(text, "CHECK   STATUS  SUMMARY\nhealth  ok      v1\\x1b]0;t\\x07");
  });

  test("columns line up on the printable text, colour codes taking no room", () => {
    const text = renderTable(
      headers,
      [
        ["disk", "ok", "12% used"],
        ["processes", "warning", "x"],
      ],
      { statusColumn: "STATUS", stream: terminal },
    );
    const plain = withoutColour(text);
    assert.equal(
      plain,
      ["CHECK      STATUS   SUMMARY", "disk       ok       12% used", "processes  warning  x"].join(
        "\n",
      ),
    );
  });

  test("a status cell that is not a status word is printed, uncoloured, and made printable", () => {
    const text = renderTable(headers, [["x", "\x1b[32mok", "y"]], {
      statusColumn: "STATUS",
      stream: terminal,
    });
    assert.ok(!text.includes(ESC));
    assert.ok(text.includes("\\x1b[32mok"));
  });

  test("a cell coloured by the caller shows its codes instead of obeying them", () => {
    const text = renderTable(headers, [["x", colourStatus("ok", "ok", terminal), "y"]], {
      stream: terminal,
    });
    assert.ok(!text.includes(ESC));
  });

  test("cells are one line each: a newline in a summary does not start a row", () => {
    const text = renderTable(headers, [["x", "ok", "first\nshop: OK"]]);
    assert.equal(text.split("\n").length, 2);
  });

  test("a row shorter than the headers is padded with empty cells", () => {
    assert.equal(renderTable(["A", "B"], [["1"]]), "A  B\n1");
  });
});

describe("colourStatus", () => {
  test("colours a known status on a terminal", () => {
    assert.equal(colourStatus("ok", "ok", terminal), "\x1b[32mok\x1b[0m");
  });

  test("not on a pipe, nor with NO_COLOR set", () => {
    assert.equal(colourStatus("ok", "ok", pipe), "ok");
    process.env.NO_COLOR = "1";
    assert.equal(colourStatus("ok", "ok", terminal), "ok");
  });
});
