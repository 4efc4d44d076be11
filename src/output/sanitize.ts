// Text the app or its user controls, made safe to print on an operator's terminal.
//
// The agent runs as root and prints versions from health answers, REVISION contents, file
// names, command lines and error messages. A control character in them is an instruction to
// the terminal (clear the screen, set the title, write the clipboard with OSC 52), and a bidi
// control reorders what the operator reads. Each such character is written as a visible
// escape naming its code point instead: ESC as the four characters `\x1b`, U+202E as `\u202e`.
// Backslashes are left as they are: the four characters `\x1b` in the text itself then read
// like an escaped ESC, which misleads no terminal, while doubling every backslash would garble
// paths and git's octal quoting of file names.

// C0 controls, DEL, C1 controls (U+009B is a one-character CSI), the bidi marks, embeddings,
// overrides and isolates, and the Unicode line and paragraph separators.
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these characters are what we look for.
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

// Every printed field is one line: its line breaks and tabs become plain spaces.
const SPACES = /\r\n|[\n\t]/g;

const ELLIPSIS = "…";

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

// Made on first use: ICU's segmentation data is only mapped in when something must be cut.
let segmenter: Intl.Segmenter | undefined;
const graphemes = () => {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return segmenter;
};

// `text` as one terminal-safe line, cut to `maxLength` characters (an escape counts as its
// length) ending in "…" when cut. Printable text, é, 日本 and emoji alike, comes through as it is.
export function printable(text: string, maxLength?: number): string {
  const line = text.replace(SPACES, " ");
  if (maxLength === undefined) return line.replace(UNSAFE, escapeChar);
  return cutGraphemes(line, maxLength, (g) => g.replace(UNSAFE, escapeChar));
}

// Several lines (a message listing problems), each made printable, the line breaks kept.
export function printableLines(text: string): string {
  return text
    .split("\n")
    .map((line) => printable(line))
    .join("\n");
}

// `text` unchanged but cut to `maxLength` characters, ending in "…" when cut: for raw values
// kept in JSON whose size the app should not decide.
export function clip(text: string, maxLength: number): string {
  return cutGraphemes(text, maxLength, (g) => g);
}

// A copy of plain data (as JSON carries it) with every string, keys included, made printable,
// so a text view rendered from the copy is safe whichever fields it shows. Numbers, booleans,
// null and anything that is not a plain object or array are kept as they are.
export function printableData<T>(value: T): T {
  return printableValue(value) as T;
}

// The recursion behind printableData, on values of no particular type.
function printableValue(value: unknown): unknown {
  if (typeof value === "string") return printable(value);
  if (Array.isArray(value)) return value.map(printableValue);
  if (value !== null && typeof value === "object" && isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [printable(key), printableValue(v)]),
    );
  }
  return value;
}

// Object literals and JSON.parse results, not Dates, Maps or class instances.
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// The visible form of one unsafe character: `\x1b` below U+0100, `\u202e` above.
function escapeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

// Cut at a grapheme boundary, so an accent, a flag or a family emoji is never split, nor a
// visible escape. `show` gives what is written for each grapheme; one left as it is counts 1.
function cutGraphemes(text: string, maxLength: number, show: (grapheme: string) => string): string {
  // Printable ASCII is one grapheme per character: no need to build ICU's segmenter (about 20 ms
  // of every `agent check`) for the common case.
  if (PRINTABLE_ASCII.test(text)) {
    if (text.length <= maxLength) return text;
    return maxLength >= ELLIPSIS.length
      ? `${text.slice(0, maxLength - ELLIPSIS.length)}${ELLIPSIS}`
      : "";
  }
  const pieces: string[] = [];
  const widths: number[] = [];
  let used = 0;
  for (const { segment } of graphemes().segment(text)) {
    const piece = show(segment);
    const width = piece === segment ? 1 : piece.length;
    if (used + width > maxLength) {
      // Make room for the ellipsis, which says that something was cut.
      while (pieces.length > 0 && used + ELLIPSIS.length > maxLength) {
        pieces.pop();
        used -= widths.pop() ?? 0;
      }
      return maxLength >= ELLIPSIS.length ? `${pieces.join("")}${ELLIPSIS}` : "";
    }
    pieces.push(piece);
    widths.push(width);
    used += width;
  }
  return pieces.join("");
}
