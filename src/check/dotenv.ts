// Which keys an environment file sets, and whether each value is empty, as python-dotenv (what a
// Flask app loads `.env` with) and systemd's EnvironmentFile= read it. Only presence and
// emptiness leave this module: the env_file check must never hold a value longer than a parse.

// KEY=VALUE, optionally after `export `, with spaces around `=`.
const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/;

// Key → whether its value is non-empty; a key set twice counts as its last assignment.
export function envKeys(text: string): Map<string, boolean> {
  const keys = new Map<string, boolean>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const match = ASSIGNMENT.exec(lines[i] as string);
    if (!match) continue;
    const key = match[1] as string;
    let rest = match[2] as string;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // A quoted value may span lines, up to its closing quote (an unescaped one for ").
      let body = rest.slice(1);
      let end = closingQuote(body, quote);
      while (end < 0 && i + 1 < lines.length) {
        i++;
        body += `\n${lines[i]}`;
        end = closingQuote(body, quote);
      }
      rest = end < 0 ? body : body.slice(0, end);
      keys.set(key, rest.length > 0);
    } else {
      // Unquoted: up to a comment that follows whitespace, trimmed.
      const value = rest.replace(/\s+#.*$/, "").trim();
      keys.set(key, value.length > 0 && !value.startsWith("#"));
    }
  }
  return keys;
}

// Index of the quote that closes a value, or -1. In double quotes a backslash escapes.
function closingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === "\\") {
      i++;
      continue;
    }
    if (body[i] === quote) return i;
  }
  return -1;
}

// The required keys that are missing and those set to nothing.
export function missingKeys(
  keys: Map<string, boolean>,
  required: string[],
): { missing: string[]; empty: string[] } {
  return {
    missing: required.filter((k) => !keys.has(k)),
    empty: required.filter((k) => keys.get(k) === false),
  };
}
