// Helpers for tests of what reaches a terminal: find what a terminal would act on.

export const ESC = "\x1b";

// Characters a terminal acts on (C0 but newline, DEL, C1) or that reorder what a person reads
// (bidi controls, line separators), as found in `text`, so a failing test names them.
export function unsafeIn(text: string): string[] {
  return [...text].filter((char) => {
    const code = char.codePointAt(0) ?? 0;
    if (char === "\n") return false;
    return (
      code < 0x20 ||
      (code >= 0x7f && code <= 0x9f) ||
      code === 0x061c ||
      code === 0x200e ||
      code === 0x200f ||
      code === 0x2028 ||
      code === 0x2029 ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069)
    );
  });
}

// `text` without SGR sequences (colour: ESC [31m … ESC [0m); any other ESC stays.
export function withoutColour(text: string): string {
  const [first, ...rest] = text.split(ESC);
  return (
    (first ?? "") +
    rest.map((part) => (/^\[\d+m/.test(part) ? part.replace(/^\[\d+m/, "") : ESC + part)).join("")
  );
}
