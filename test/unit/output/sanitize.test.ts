// Making app-controlled text safe for a terminal: escapes shown, printable text untouched.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { clip, printable, printableData } from "../../../src/output/sanitize.js";
import { unsafeIn } from "./terminal-text.js";

describe("printable", () => {
  test("plain ASCII comes through as it is", () => {
    assert.equal(
      printable("serving 3f2a1c9b0d1e (10 requests, 4 pids)"),
      "serving 3f2a1c9b0d1e (10 requests, 4 pids)",
    );
    assert.equal(printable(""), "");
  });

  test("multi-byte text stays intact: accents, CJK, emoji, flags, ZWJ sequences", () => {
    for (const text of [
      "café é",
      "日本語のリリース",
      "🚀 deployed",
      "🇯🇵",
      "👨‍👩‍👧 family",
      "naïve\u0301",
    ]) {
      assert.equal(printable(text), text);
    }
  });

  test("OSC title set: ESC and BEL become visible escapes", () => {
    assert.equal(printable("\x1b]0;pwned\x07abc"), "\\x1b]0;pwned\\x07abc");
  });

  test("CSI sequences (clear screen, cursor moves) lose their ESC", () => {
    assert.equal(printable("\x1b[2J\x1b[1;1H\x1b[3A"), "\\x1b[2J\\x1b[1;1H\\x1b[3A");
  });

  test("an OSC 52 clipboard write ended by ST is shown, not obeyed", () => {
    assert.equal(
      printable("\x1b]52;c;Y3VybCBldmlsfHNo\x1b\\"),
      "\\x1b]52;c;Y3VybCBldmlsfHNo\\x1b\\",
    );
  });

  test("C1 controls, U+009B CSI among them, are escaped", () => {
    assert.equal(printable("\u009b2J"), "\\x9b2J");
    assert.equal(printable("\u0080\u0085\u009d\u009f"), "\\x80\\x85\\x9d\\x9f");
  });

  test("every C0 control except tab and line breaks, and DEL, is escaped", () => {
    assert.equal(printable("\x00\x01\x08\x0b\x0c\x1f\x7f"), "\\x00\\x01\\x08\\x0b\\x0c\\x1f\\x7f");
  });

  test("a lone carriage return, which would overwrite the line, is escaped", () => {
    assert.equal(printable("ok\rFAILED"), "ok\\x0dFAILED");
  });

  test("tabs and line breaks become spaces: each field is one line", () => {
    assert.equal(printable("a\tb\nc\r\nd"), "a b c d");
  });

  test("bidi overrides, embeddings, isolates and marks are escaped", () => {
    assert.equal(printable("abc\u202egpj.exe"), "abc\\u202egpj.exe");
    assert.equal(
      printable("\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c"),
      "\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c",
    );
  });

  test("Unicode line and paragraph separators are escaped", () => {
    assert.equal(printable("a\u2028b\u2029c"), "a\\u2028b\\u2029c");
  });

  test("no unsafe character survives, whatever the input", () => {
    let all = "";
    for (let c = 0; c < 0x3000; c++) all += String.fromCodePoint(c);
    assert.deepEqual(unsafeIn(printable(all)), []);
  });

  test("printing twice changes nothing more", () => {
    const once = printable("\x1b]0;t\x07 日本 \u202e \t");
    assert.equal(printable(once), once);
  });

  test("escapes next to multi-byte text leave it whole", () => {
    assert.equal(printable("é\x1b[31m日本\u202e🚀"), "é\\x1b[31m日本\\u202e🚀");
  });
});

describe("printable with a maximum length", () => {
  test("text that fits is the same as without one", () => {
    const text = "v1.2.3 \x1b[2J 日本 🚀";
    assert.equal(printable(text, 100), printable(text));
    assert.equal(printable("abcde", 5), "abcde");
  });

  test("longer text is cut and ends in an ellipsis, within the maximum", () => {
    assert.equal(printable("abcdefghij", 5), "abcd…");
  });

  test("characters count as people see them: an emoji or a flag is one", () => {
    assert.equal(printable("日本語テキスト", 4), "日本語…");
    assert.equal(printable("👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧", 2), "👨‍👩‍👧…");
    assert.equal(printable("🇯🇵🇫🇷🇩🇪", 2), "🇯🇵…");
    assert.equal(printable("e\u0301e\u0301e\u0301", 2), "e\u0301…");
  });

  test("an escape counts as its length and is never split", () => {
    assert.equal(printable("ab\x1bcd", 6), "ab…");
    assert.equal(printable("ab\x1bcd", 7), "ab\\x1b…");
    assert.equal(printable("\u202e\u202e", 7), "\\u202e…");
  });

  test("tiny maxima", () => {
    assert.equal(printable("abc", 1), "…");
    assert.equal(printable("abc", 0), "");
    assert.equal(printable("", 0), "");
  });

  test("a megabyte of escapes is cut to the maximum", () => {
    const huge = "\x1b".repeat(1_000_000);
    const cut = printable(huge, 80);
    assert.ok(cut.length <= 80);
    assert.ok(cut.endsWith("…"));
    assert.deepEqual(unsafeIn(cut), []);
  });
});

describe("clip", () => {
  test("keeps the text as it is when it fits", () => {
    assert.equal(clip("\x1b[2J", 10), "\x1b[2J");
  });

  test("cuts at a grapheme boundary and says so", () => {
    assert.equal(clip("abcdef", 4), "abc…");
    assert.equal(clip("日本🇯🇵x", 3), "日本…");
  });
});

describe("printableData", () => {
  test("every string in nested plain data is made printable, keys included", () => {
    const data = {
      release: "r\x1b[2J",
      count: 3,
      ok: true,
      none: null,
      steps: [{ step: "build", message: "exit 1\n\x1b]0;x\x07" }],
      map: { "k\u202e": "v" },
    };
    assert.deepEqual(printableData(data), {
      release: "r\\x1b[2J",
      count: 3,
      ok: true,
      none: null,
      steps: [{ step: "build", message: "exit 1 \\x1b]0;x\\x07" }],
      map: { "k\\u202e": "v" },
    });
  });

  test("leaves the original alone", () => {
    const data = { name: "\x1b" };
    printableData(data);
    assert.equal(data.name, "\x1b");
  });

  test("a top-level string works too", () => {
    assert.equal(printableData("\x07"), "\\x07");
  });
});
