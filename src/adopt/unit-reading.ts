// Reading how an app runs today from its systemd unit, for `agent adopt`: pure functions over text
// the caller got from `systemctl show` / `busctl` / the gunicorn config file, and the quoting
// needed to write a drop-in back. Formats checked against systemd 252 and gunicorn 20.1 / 26.1.

// ---------------------------------------------------------------------------------------------
// systemctl show

// One ExecStart= command as systemd stores it (after specifier expansion, before $VAR expansion).
export interface ExecCommand {
  // The program run; differs from argv[0] when the unit used the "@" prefix.
  path: string;
  argv: string[];
  // The "-" prefix: a failing exit status is not a failure.
  ignoreErrors: boolean;
}

export interface UnitFacts {
  loadState: string;
  activeState: string;
  // Service Type= ("simple", "notify", ...); "" when the unit is not found.
  type: string;
  fragmentPath: string;
  // "" when unset; "~" kept as is; the missing-ok mark stripped (systemd prints it as "!").
  workingDirectory: string;
  user: string;
  group: string;
  // argv of each ExecStart= command, in order. systemctl joins argv with single spaces and no
  // quoting, so this is split on spaces: exact only when no argument is empty or holds a space.
  // Use parseExecStartJson for an exact argv.
  execStart: string[][];
  // The same commands with their program path and "-" prefix.
  execCommands: ExecCommand[];
  environment: Record<string, string>;
  // Paths, with systemd's " (ignore_errors=...)" suffix stripped.
  environmentFiles: string[];
}

// The properties parseUnitShow reads, for `systemctl show --no-pager -p ...`.
export const SHOW_PROPERTIES = [
  "LoadState",
  "FragmentPath",
  "WorkingDirectory",
  "User",
  "Group",
  "ExecStart",
  "Environment",
  "EnvironmentFiles",
  "ActiveState",
  "Type",
];

// The fixed tail systemctl prints after argv[]; matched from the end because an argv element
// may itself be " ; " (systemctl does not quote it).
const EXEC_TAIL =
  / ; (?:ignore_errors=(yes|no)|flags=([^;]*)) ; start_time=\[[^\]]*\] ; stop_time=\[[^\]]*\] ; pid=\d+ ; code=\S* ; status=\S* \}$/;

// Parse the output of `systemctl show` for one unit.
export function parseUnitShow(text: string): UnitFacts {
  const facts: UnitFacts = {
    loadState: "",
    activeState: "",
    type: "",
    fragmentPath: "",
    workingDirectory: "",
    user: "",
    group: "",
    execStart: [],
    execCommands: [],
    environment: {},
    environmentFiles: [],
  };
  for (const { key, value } of showLines(text)) {
    switch (key) {
      case "LoadState":
        facts.loadState = value;
        break;
      case "ActiveState":
        facts.activeState = value;
        break;
      case "Type":
        facts.type = value;
        break;
      case "FragmentPath":
        facts.fragmentPath = value;
        break;
      case "WorkingDirectory":
        // The bus marks WorkingDirectory=-/x as "!/x"; "-" accepted too in case a version differs.
        facts.workingDirectory = value.replace(/^[!-]/, "");
        break;
      case "User":
        facts.user = value;
        break;
      case "Group":
        facts.group = value;
        break;
      case "ExecStart": {
        const command = parseExecValue(value);
        if (command) {
          facts.execCommands.push(command);
          facts.execStart.push(command.argv);
        }
        break;
      }
      case "Environment":
        for (const item of splitShownStrv(value)) {
          const at = item.indexOf("=");
          if (at > 0) facts.environment[item.slice(0, at)] = item.slice(at + 1);
        }
        break;
      case "EnvironmentFiles": {
        const file = value.replace(/ \(ignore_errors=(?:yes|no)\)$/, "");
        if (file) facts.environmentFiles.push(file);
        break;
      }
    }
  }
  return facts;
}

// Name=value pairs. systemctl prints an ExecStart argument holding a newline as is, so a line
// that does not start with a property name continues the previous value.
function showLines(text: string): { key: string; value: string }[] {
  const pairs: { key: string; value: string }[] = [];
  for (const line of text.replace(/\n+$/, "").split("\n")) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=/.exec(line);
    const last = pairs[pairs.length - 1];
    if (m) pairs.push({ key: m[1] as string, value: line.slice(m[0].length) });
    else if (last) last.value += `\n${line}`;
  }
  return pairs;
}

// One ExecStart= value: `{ path=P ; argv[]=A B C ; ignore_errors=no ; start_time=[..] ; ... }`.
function parseExecValue(value: string): ExecCommand | undefined {
  const head = "{ path=";
  const argvMark = " ; argv[]=";
  if (!value.startsWith(head)) return undefined;
  const argvAt = value.indexOf(argvMark);
  const tail = EXEC_TAIL.exec(value);
  if (argvAt < 0 || !tail) return undefined;
  const path = value.slice(head.length, argvAt);
  const argvText = value.slice(argvAt + argvMark.length, tail.index);
  const ignoreErrors =
    tail[1] !== undefined
      ? tail[1] === "yes"
      : (tail[2] ?? "").split(" ").includes("ignore-failure");
  // Only spaces separate: a tab or newline in the text is inside an argument.
  return { path, argv: argvText.split(" ").filter((word) => word !== ""), ignoreErrors };
}

const SHOWN_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

// A string array as systemctl prints it: items separated by one space, each bare or in double
// quotes with backslash escapes (systemd's shell_maybe_quote(s, 0): \" \\ \$ \` and C escapes).
function splitShownStrv(value: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i < value.length) {
    if (value[i] === " ") {
      i++;
      continue;
    }
    if (value[i] !== '"') {
      const end = value.indexOf(" ", i);
      items.push(value.slice(i, end < 0 ? value.length : end));
      i = end < 0 ? value.length : end;
      continue;
    }
    let item = "";
    i++;
    while (i < value.length && value[i] !== '"') {
      const c = value[i] as string;
      if (c !== "\\") {
        item += c;
        i++;
        continue;
      }
      const next = value[i + 1] ?? "";
      const octal = /^[0-3][0-7]{2}/.exec(value.slice(i + 1, i + 4));
      if (octal) {
        // Octal escapes are single bytes of (possibly invalid) UTF-8; kept as code units.
        item += String.fromCharCode(Number.parseInt(octal[0], 8));
        i += 4;
      } else {
        item += SHOWN_ESCAPES[next] ?? next;
        i += 2;
      }
    }
    items.push(item);
    i++;
  }
  return items;
}

// ExecStart (or ExecStartEx) from
// `busctl --json=short get-property org.freedesktop.systemd1 PATH org.freedesktop.systemd1.Service ExecStart`:
// the only exact argv systemd 252 gives out (systemctl show loses argument boundaries).
export function parseExecStartJson(text: string): ExecCommand[] {
  const parsed: unknown = JSON.parse(text);
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error("busctl ExecStart: no data array");
  return data.map((entry: unknown) => {
    if (!Array.isArray(entry)) throw new Error("busctl ExecStart: entry is not a struct");
    const [path, argv, ignore] = entry as unknown[];
    if (typeof path !== "string" || !isStringArray(argv)) {
      throw new Error("busctl ExecStart: bad path or argv");
    }
    // ExecStart carries a boolean, ExecStartEx a list of flag names.
    const ignoreErrors =
      typeof ignore === "boolean"
        ? ignore
        : isStringArray(ignore) && ignore.includes("ignore-failure");
    return { path, argv, ignoreErrors };
  });
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

// The D-Bus object path of a unit, for busctl: systemd escapes every byte that is not an ASCII
// letter or a (non-leading) digit as _xx.
export function unitObjectPath(unit: string): string {
  if (unit === "") return "/org/freedesktop/systemd1/unit/_";
  let label = "";
  for (const byte of Buffer.from(unit, "utf8")) {
    const c = String.fromCharCode(byte);
    const keep = /[A-Za-z]/.test(c) || (label !== "" && /[0-9]/.test(c));
    label += keep ? c : `_${byte.toString(16).padStart(2, "0")}`;
  }
  return `/org/freedesktop/systemd1/unit/${label}`;
}

// ---------------------------------------------------------------------------------------------
// gunicorn command line

export type WorkersSource =
  | "--workers"
  | "GUNICORN_CMD_ARGS"
  | "config file"
  | "WEB_CONCURRENCY"
  | "default";
export type BindSource = "--bind" | "GUNICORN_CMD_ARGS" | "config file" | "PORT" | "default";

export interface GunicornFacts {
  gunicorn: boolean;
  workers?: number;
  workersFrom?: WorkersSource;
  bind?: string[];
  bindFrom?: BindSource;
  // As written: relative to the working directory, maybe "python:module" or "file:path". When
  // absent gunicorn reads ./gunicorn.conf.py from the working directory if it exists.
  configFile?: string;
  app?: string;
}

// gunicorn options that take no value (20.1 and 26.1). Every other known option takes one.
const GUNICORN_FLAGS = new Set([
  "-h",
  "--help",
  "-v",
  "--version",
  "--reload",
  "--spew",
  "--check-config",
  "--print-config",
  "--preload",
  "--no-sendfile",
  "--reuse-port",
  "-D",
  "--daemon",
  "--initgroups",
  "--disable-redirect-access-to-syslog",
  "--capture-output",
  "--log-syslog",
  "-R",
  "--enable-stdio-inheritance",
  "--enable-backlog-metric",
  "--suppress-ragged-eofs",
  "--do-handshake-on-connect",
  "--permit-obsolete-folding",
  "--strip-header-spaces",
  "--permit-unconventional-http-method",
  "--permit-unconventional-http-version",
  "--casefold-http-method",
  "--tolerate-dangerous-framing",
  "--no-control-socket",
]);

// Long options that take a value, for argparse's unique-prefix abbreviations ("--work" is
// ambiguous, "--bin" is --bind).
const GUNICORN_VALUE_LONG = [
  "--config",
  "--bind",
  "--backlog",
  "--workers",
  "--worker-class",
  "--threads",
  "--worker-connections",
  "--max-requests",
  "--max-requests-jitter",
  "--timeout",
  "--graceful-timeout",
  "--keep-alive",
  "--limit-request-line",
  "--limit-request-fields",
  "--limit-request-field_size",
  "--reload-engine",
  "--reload-extra-file",
  "--chdir",
  "--env",
  "--pid",
  "--worker-tmp-dir",
  "--user",
  "--group",
  "--umask",
  "--forwarded-allow-ips",
  "--access-logfile",
  "--access-logformat",
  "--error-logfile",
  "--log-file",
  "--log-level",
  "--logger-class",
  "--log-config",
  "--log-config-json",
  "--log-syslog-to",
  "--log-syslog-prefix",
  "--log-syslog-facility",
  "--statsd-host",
  "--dogstatsd-tags",
  "--statsd-prefix",
  "--name",
  "--pythonpath",
  "--paste",
  "--paster",
  "--proxy-protocol",
  "--proxy-allow-from",
  "--protocol",
  "--uwsgi-allow-from",
  "--keyfile",
  "--certfile",
  "--ssl-version",
  "--cert-reqs",
  "--ca-certs",
  "--ciphers",
  "--http-protocols",
  "--http2-cleartext",
  "--http2-max-concurrent-streams",
  "--http2-initial-window-size",
  "--http2-max-frame-size",
  "--http2-max-header-list-size",
  "--paste-global",
  "--forwarder-headers",
  "--header-map",
  "--asgi-loop",
  "--asgi-lifespan",
  "--asgi-disconnect-grace-period",
  "--http-parser",
  "--root-path",
  "--dirty-app",
  "--dirty-workers",
  "--dirty-timeout",
  "--dirty-threads",
  "--dirty-graceful-timeout",
  "--control-socket",
  "--control-socket-mode",
];
const GUNICORN_LONG = [...GUNICORN_VALUE_LONG, ...[...GUNICORN_FLAGS].filter((o) => o[1] === "-")];
const GUNICORN_SHORT_VALUE = new Set(["c", "b", "w", "k", "t", "e", "p", "u", "g", "m", "n"]);
const SHORT_DEST: Record<string, string> = { c: "--config", b: "--bind", w: "--workers" };
// --proxy-protocol became "optional value" in gunicorn 26; older ones take none.
const PROXY_PROTOCOL_MODES = new Set(["off", "v1", "v2", "auto"]);

// Exact name, or argparse's unique-prefix abbreviation of a long option.
function resolveLong(name: string): string | undefined {
  if (GUNICORN_LONG.includes(name)) return name;
  const matches = GUNICORN_LONG.filter((option) => option.startsWith(name));
  return matches.length === 1 ? matches[0] : undefined;
}

interface GunicornOptions {
  workers?: number | "invalid";
  bind: string[];
  config?: string;
  positional: string[];
}

// argparse-like scan of gunicorn's own arguments: what -w, -b, -c and the app are.
function scanGunicornArgs(args: string[]): GunicornOptions {
  const out: GunicornOptions = { bind: [], positional: [] };
  const apply = (option: string, value: string): void => {
    if (option === "--workers") out.workers = pythonInt(value) ?? "invalid";
    else if (option === "--bind") out.bind.push(value);
    else if (option === "--config") out.config = value;
  };
  let onlyPositional = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (onlyPositional || arg === "-" || !arg.startsWith("-") || /^-\d+$|^-\d*\.\d+$/.test(arg)) {
      out.positional.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPositional = true;
      continue;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const option = resolveLong(eq < 0 ? arg : arg.slice(0, eq));
      const explicit = eq < 0 ? undefined : arg.slice(eq + 1);
      // Unknown or ambiguous: gunicorn would refuse to start; skip it and read on.
      if (!option || GUNICORN_FLAGS.has(option)) continue;
      if (explicit !== undefined) {
        apply(option, explicit);
      } else if (option === "--proxy-protocol") {
        if (PROXY_PROTOCOL_MODES.has(args[i + 1] ?? "")) i++;
      } else if (i + 1 < args.length) {
        apply(option, args[++i] as string);
      }
      continue;
    }
    // Short options, possibly clustered: -Dw3, -w3, -w=3, -w 3.
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j] as string;
      if (GUNICORN_FLAGS.has(`-${c}`)) continue;
      if (!GUNICORN_SHORT_VALUE.has(c)) break;
      let rest = arg.slice(j + 1);
      if (j === 1 && rest.startsWith("=")) rest = rest.slice(1);
      const value = rest !== "" ? rest : args[++i];
      const dest = SHORT_DEST[c];
      if (dest && value !== undefined) apply(dest, value);
      break;
    }
  }
  return out;
}

// Python int() of a string: optional sign, digits with single underscores, surrounding spaces.
// Negative values are refused as gunicorn's validator does.
function pythonInt(text: string): number | undefined {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(text);
  if (!m || m[1] === "-") return undefined;
  const n = Number((m[2] as string).replaceAll("_", ""));
  return Number.isSafeInteger(n) ? n : undefined;
}

// Where gunicorn's own arguments start in argv, or undefined when argv does not run gunicorn.
function gunicornArgsStart(argv: string[]): number | undefined {
  const name = basename(argv[0] ?? "");
  if (name === "gunicorn" || name === "gunicorn3") return 1;
  if (!/^python[0-9.]*$/.test(name)) return undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--check-hash-based-pycs") {
      i++;
      continue;
    }
    if (arg.startsWith("--")) continue;
    if (!arg.startsWith("-") || arg === "-") {
      // A script: python3 /opt/app/venv/bin/gunicorn app:app.
      const script = basename(arg);
      return script === "gunicorn" || script === "gunicorn3" ? i + 1 : undefined;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j];
      if (c === "c") return undefined;
      if (c === "m") {
        const rest = arg.slice(j + 1);
        const module = rest !== "" ? rest : argv[++i];
        return module === "gunicorn" || module === "gunicorn.app.wsgiapp" ? i + 1 : undefined;
      }
      if (c === "W" || c === "X") {
        if (j === arg.length - 1) i++;
        break;
      }
    }
  }
  return undefined;
}

function basename(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}

// What a command line tells about gunicorn. argv is what the process gets (for a unit using
// "@", pass [path, ...argv.slice(1)]). env is the unit's environment: GUNICORN_CMD_ARGS holds
// options the command line overrides. WEB_CONCURRENCY is left to gunicornSettings, since a
// config file value beats it.
export function readGunicornArgv(argv: string[], env: Record<string, string>): GunicornFacts {
  const start = gunicornArgsStart(argv);
  if (start === undefined) return { gunicorn: false };
  const cli = scanGunicornArgs(argv.slice(start));
  const envWords = env.GUNICORN_CMD_ARGS === undefined ? [] : pythonShlex(env.GUNICORN_CMD_ARGS);
  // gunicorn dies on an unbalanced quote there; nothing can be read from it then.
  const fromEnv = scanGunicornArgs(envWords ?? []);
  const facts: GunicornFacts = { gunicorn: true };
  const workers = cli.workers ?? fromEnv.workers;
  if (typeof workers === "number") {
    facts.workers = workers;
    facts.workersFrom = cli.workers !== undefined ? "--workers" : "GUNICORN_CMD_ARGS";
  }
  if (cli.bind.length > 0) {
    facts.bind = cli.bind;
    facts.bindFrom = "--bind";
  } else if (fromEnv.bind.length > 0) {
    facts.bind = fromEnv.bind;
    facts.bindFrom = "GUNICORN_CMD_ARGS";
  }
  const configFile = cli.config ?? fromEnv.config;
  if (configFile !== undefined) facts.configFile = configFile;
  // gunicorn ignores positionals in GUNICORN_CMD_ARGS.
  if (cli.positional[0] !== undefined) facts.app = cli.positional[0];
  return facts;
}

// Python's shlex.split (POSIX mode, no comments), as gunicorn reads GUNICORN_CMD_ARGS;
// undefined on an unbalanced quote.
function pythonShlex(text: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (" \t\r\n".includes(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word = (word ?? "") + text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let part = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\" && (text[j + 1] === '"' || text[j + 1] === "\\")) j++;
        part += text[j];
        j++;
      }
      if (j >= text.length) return undefined;
      word = (word ?? "") + part;
      i = j + 1;
    } else if (c === "\\") {
      if (i + 1 >= text.length) return undefined;
      word = (word ?? "") + text[i + 1];
      i += 2;
    } else {
      word = (word ?? "") + c;
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

// ---------------------------------------------------------------------------------------------
// gunicorn config file (Python)

export interface GunicornConfigFacts {
  workers?: number;
  bind?: string[];
  // Names among workers/bind assigned in a way not read here (computed, conditional, imported):
  // their value is unknown, and the plan must say so.
  computed: string[];
}

const CONFIG_NAMES = ["workers", "bind"] as const;
type ConfigName = (typeof CONFIG_NAMES)[number];
type Known = { value: number | string[] } | "computed";

// Read the simple top-level assignments of workers and bind in a gunicorn config file. Python
// runs top to bottom, so the last top-level assignment wins; any assignment we cannot evaluate
// (an expression, inside if/def/try, an import) makes the name unknown from there on.
export function readGunicornConfig(text: string): GunicornConfigFacts {
  const state = new Map<ConfigName, Known>();
  for (const line of logicalLines(text)) {
    const blank = blankStrings(line.text);
    if (/^from\s+\S+\s+import\s+\*/.test(blank.trim())) {
      for (const name of CONFIG_NAMES) state.set(name, "computed");
      continue;
    }
    const simple = line.indent === 0 ? simpleAssignment(line.text) : undefined;
    for (const name of CONFIG_NAMES) {
      if (simple?.targets.includes(name)) {
        const value = name === "workers" ? workersLiteral(simple.rhs) : bindLiteral(simple.rhs);
        state.set(name, value === undefined ? "computed" : { value });
      } else if (bindsName(blank, name)) {
        state.set(name, "computed");
      }
    }
  }
  const facts: GunicornConfigFacts = { computed: [] };
  for (const name of CONFIG_NAMES) {
    const known = state.get(name);
    if (known === "computed") facts.computed.push(name);
    else if (known && name === "workers") facts.workers = known.value as number;
    else if (known && name === "bind") facts.bind = known.value as string[];
  }
  return facts;
}

const COMPOUND = /^(?:if|elif|else|for|while|with|try|except|finally|def|class|async|match|case)\b/;

interface LogicalLine {
  indent: number;
  text: string;
}

// Python logical lines: comments dropped, bracket and backslash continuations joined, strings
// (also triple-quoted ones spanning lines) kept verbatim.
function logicalLines(source: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let text = "";
  let indent = 0;
  let atStart = true;
  let depth = 0;
  let i = 0;
  // Statements after a compound header on the same line (`if x: a = 1; b = 2`) are nested.
  let nested = false;
  const statement = (): void => {
    const trimmed = text.trim();
    if (trimmed !== "") lines.push({ indent: nested ? indent + 1 : indent, text: trimmed });
    if (COMPOUND.test(trimmed)) nested = true;
    text = "";
  };
  const finish = (): void => {
    statement();
    nested = false;
    atStart = true;
  };
  while (i < source.length) {
    if (atStart) {
      const m = /^[ \t\f]*/.exec(source.slice(i)) as RegExpExecArray;
      indent = m[0].length;
      i += indent;
      atStart = false;
      continue;
    }
    const c = source[i] as string;
    if (c === "#") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "\\" && /^\r?\n/.test(source.slice(i + 1, i + 3))) {
      text += " ";
      i += source[i + 1] === "\r" ? 3 : 2;
    } else if (c === "\n" || c === "\r") {
      i++;
      if (depth > 0) text += " ";
      else finish();
    } else if (c === ";" && depth === 0) {
      i++;
      statement();
    } else if (c === '"' || c === "'") {
      const end = stringEnd(source, i);
      text += source.slice(i, end);
      i = end;
    } else {
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c) && depth > 0) depth--;
      text += c;
      i++;
    }
  }
  finish();
  return lines;
}

// Index just past the string literal opening at i (a backslash always protects the next char,
// raw strings included); the end of the text when it never closes.
function stringEnd(source: string, i: number): number {
  const quote = source[i] as string;
  const triple = source.startsWith(quote.repeat(3), i);
  const close = triple ? quote.repeat(3) : quote;
  let j = i + close.length;
  while (j < source.length) {
    if (source[j] === "\\") j += 2;
    else if (source.startsWith(close, j)) return j + close.length;
    else if (!triple && source[j] === "\n") return j;
    else j++;
  }
  return source.length;
}

// The line with every string literal's content replaced, so names inside strings are not seen.
function blankStrings(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"' || c === "'") {
      const end = stringEnd(text, i);
      out += '""';
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// `a = b = RHS` or `a: T = RHS` at the start of a line: the targets and the right-hand side.
function simpleAssignment(text: string): { targets: string[]; rhs: string } | undefined {
  const targets: string[] = [];
  let rest = text;
  for (;;) {
    const m = /^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)\s*/.exec(rest);
    if (!m) break;
    targets.push(m[1] as string);
    rest = rest.slice(m[0].length);
  }
  return targets.length > 0 ? { targets, rhs: rest.trim() } : undefined;
}

// Whether a (string-blanked) line may bind name in some other way: augmented or tuple
// assignment, walrus, for/with/import targets, del.
function bindsName(blank: string, name: string): boolean {
  const word = `(?<![\\w.])${name}(?!\\w)`;
  if (new RegExp(`${word}\\s*(?:(?:\\*\\*|//|>>|<<|[-+*/%&|^@])=|:=)`).test(blank)) return true;
  const forTargets = /^\s*(?:async\s+)?for\s+(.*?)\s+in\b/.exec(blank)?.[1];
  if (forTargets !== undefined && new RegExp(word).test(forTargets)) return true;
  if (new RegExp(`^\\s*del\\b.*${word}`).test(blank)) return true;
  if (new RegExp(`\\b(?:as|import)\\s+(?:[\\w.]+\\s*,\\s*)*${word}`).test(blank)) return true;
  if (new RegExp(`\\bimport\\b.*,\\s*${word}`).test(blank)) return true;
  const eq = topLevelAssign(blank);
  return eq >= 0 && new RegExp(word).test(blank.slice(0, eq));
}

// Index of the first "=" that assigns (outside brackets, not part of ==, <=, >=, !=).
function topLevelAssign(blank: string): number {
  let depth = 0;
  for (let i = 0; i < blank.length; i++) {
    const c = blank[i] as string;
    if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (c === "=" && depth === 0) {
      if (blank[i + 1] === "=" || "=<>!:".includes(blank[i - 1] ?? "")) {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

// workers = 3, or a string gunicorn's validator turns into an int ("4").
function workersLiteral(rhs: string): number | undefined {
  // Python 3 int literals: no leading zeros except for zero itself.
  if (/^(?:0(?:_?0)*|[1-9](?:_?\d)*)$/.test(rhs)) return pythonInt(rhs);
  const s = stringLiteral(rhs);
  return s === undefined ? undefined : pythonInt(s);
}

// bind = "a" or bind = ["a", "b"] / ("a", "b") / ("a",).
function bindLiteral(rhs: string): string[] | undefined {
  const single = stringLiteral(rhs);
  if (single !== undefined) return [single];
  const m = /^(\[|\()([\s\S]*)(\]|\))$/.exec(rhs);
  if (!m || (m[1] === "[") !== (m[3] === "]")) return undefined;
  const items: string[] = [];
  let rest = (m[2] as string).trim();
  while (rest !== "") {
    const end = literalLength(rest);
    if (end === undefined) return undefined;
    const item = stringLiteral(rest.slice(0, end));
    if (item === undefined) return undefined;
    items.push(item);
    rest = rest.slice(end).trim();
    if (rest.startsWith(",")) rest = rest.slice(1).trim();
    else if (rest !== "") return undefined;
  }
  // ("a") is a parenthesised string, handled above; ("a",) and [] are sequences.
  return items;
}

// Length of the leading run of adjacent string literals (implicit concatenation) in text.
function literalLength(text: string): number | undefined {
  let i = 0;
  let seen = false;
  for (;;) {
    const m = /^\s*([rRuU]?)(["'])/.exec(text.slice(i));
    if (!m) break;
    const open = i + m[0].length - 1;
    const end = stringEnd(text, open);
    if (end > text.length || !text.slice(open, end).endsWith(m[2] as string)) return undefined;
    i = end;
    seen = true;
  }
  return seen ? i : undefined;
}

// The value of text when it is exactly one or more adjacent plain string literals; f-strings and
// bytes are not plain.
function stringLiteral(text: string): string | undefined {
  const t = text
    .trim()
    .replace(/^\(([\s\S]*)\)$/, "$1")
    .trim();
  let value = "";
  let i = 0;
  let seen = false;
  while (i < t.length) {
    const m = /^\s*([rRuU]?)("""|'''|"|')/.exec(t.slice(i));
    if (!m) return undefined;
    const raw = (m[1] as string).toLowerCase() === "r";
    const quote = m[2] as string;
    const start = i + m[0].length;
    const open = start - quote.length;
    const end = stringEnd(t, open);
    if (!t.slice(open, end).endsWith(quote) || end - open < 2 * quote.length) return undefined;
    const body = t.slice(start, end - quote.length);
    const decoded = raw ? body : pythonUnescape(body);
    if (decoded === undefined) return undefined;
    value += decoded;
    i = end;
    seen = true;
    while (i < t.length && /\s/.test(t[i] as string)) i++;
  }
  return seen ? value : undefined;
}

const PY_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\n": "",
};

// Python string escapes; unknown ones stay as written (as Python does), \N{...} is not read.
function pythonUnescape(body: string): string | undefined {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = body[i + 1] ?? "";
    const known = PY_ESCAPES[next];
    if (known !== undefined) {
      out += known;
      i++;
      continue;
    }
    const hex = /^(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))/.exec(
      body.slice(i + 1),
    );
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1));
    if (hex) {
      const code = Number.parseInt((hex[1] ?? hex[2] ?? hex[3]) as string, 16);
      if (code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i += hex[0].length;
    } else if (octal) {
      out += String.fromCodePoint(Number.parseInt(octal[0], 8));
      i += octal[0].length;
    } else if (next === "N") {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Combining and using what was read

export interface GunicornSettings {
  workers: number;
  workersFrom: WorkersSource;
  bind: string[];
  bindFrom: BindSource;
}

// What gunicorn will run with: the command line (and GUNICORN_CMD_ARGS) beat the config file,
// which beats WEB_CONCURRENCY / PORT, which beat gunicorn's defaults (1 worker, 127.0.0.1:8000).
export function gunicornSettings(
  argvFacts: GunicornFacts,
  config: { workers?: number; bind?: string[] } | undefined,
  env: Record<string, string>,
): GunicornSettings {
  let workers: number;
  let workersFrom: WorkersSource;
  const webConcurrency =
    env.WEB_CONCURRENCY === undefined ? undefined : pythonInt(env.WEB_CONCURRENCY);
  if (argvFacts.workers !== undefined) {
    workers = argvFacts.workers;
    workersFrom = argvFacts.workersFrom ?? "--workers";
  } else if (config?.workers !== undefined) {
    workers = config.workers;
    workersFrom = "config file";
  } else if (webConcurrency !== undefined) {
    workers = webConcurrency;
    workersFrom = "WEB_CONCURRENCY";
  } else {
    workers = 1;
    workersFrom = "default";
  }
  let bind: string[];
  let bindFrom: BindSource;
  if (argvFacts.bind !== undefined && argvFacts.bind.length > 0) {
    bind = argvFacts.bind;
    bindFrom = argvFacts.bindFrom ?? "--bind";
  } else if (config?.bind !== undefined) {
    bind = config.bind;
    bindFrom = "config file";
  } else if (env.PORT !== undefined) {
    bind = [`0.0.0.0:${env.PORT}`];
    bindFrom = "PORT";
  } else {
    bind = ["127.0.0.1:8000"];
    bindFrom = "default";
  }
  return { workers, workersFrom, bind, bindFrom };
}

// A URL to reach the app from this host, from the first TCP address gunicorn binds (parsed as
// gunicorn's parse_address does); undefined when none is usable.
export function baseUrlFromBind(bind: string[]): string | undefined {
  for (const address of bind) {
    const url = tcpUrl(address);
    if (url) return url;
  }
  return undefined;
}

function tcpUrl(address: string): string | undefined {
  if (address.startsWith("unix:") || address.startsWith("fd://")) return undefined;
  const netloc = address.startsWith("tcp://") ? address.slice("tcp://".length) : address;
  let host: string;
  let port = "8000";
  if (netloc.includes("[") && netloc.includes("]")) {
    host = (netloc.split("]")[0] as string).slice(1);
    const after = netloc.split("]:")[1];
    if (after !== undefined) port = after;
  } else if (netloc.includes(":")) {
    const parts = netloc.split(":");
    host = parts[0] as string;
    port = parts[1] as string;
  } else {
    host = netloc;
  }
  const portNumber = pythonInt(port);
  if (portNumber === undefined || portNumber < 1 || portNumber > 65535) return undefined;
  host = host.toLowerCase();
  // A bare number is a port given without a host, which gunicorn would take for a host name.
  if (/^\d+$/.test(host) || host.includes("%")) return undefined;
  if (host === "" || host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::" || /^[0:]+$/.test(host)) host = "[::1]";
  else if (host.includes(":")) host = `[${host}]`;
  const url = `http://${host}:${portNumber}`;
  return URL.canParse(url) ? url : undefined;
}

// Characters that end a path; any other after `from` continues the name (/opt/app2, /opt/app.old).
const ENDS_PATH = /[\s/:;,='"()[\]{}<>|&]/;
// Characters that glue a preceding name onto the path (/srv/opt/app, x/opt/app).
const GLUES_BEFORE = /[\p{L}\p{N}_.~/]/u;

// Move `from` (an absolute directory) to `to` wherever `from` starts a path inside value: whole
// components only, and not where the path is already under `to`.
export function rewritePathPrefix(value: string, from: string, to: string): string {
  if (!from.startsWith("/") || from.length < 2 || from.endsWith("/")) {
    throw new Error(`rewritePathPrefix: ${JSON.stringify(from)} is not an absolute directory`);
  }
  let out = "";
  let i = 0;
  while (i < value.length) {
    const at = value.indexOf(from, i);
    if (at < 0) break;
    const before = value[at - 1];
    const after = value[at + from.length];
    const whole =
      (before === undefined || !GLUES_BEFORE.test(before)) &&
      (after === undefined || ENDS_PATH.test(after));
    const afterTo = value[at + to.length];
    const already = value.startsWith(to, at) && (afterTo === undefined || ENDS_PATH.test(afterTo));
    if (whole && !already) {
      out += value.slice(i, at) + to;
      i = at + from.length;
    } else {
      const skip = already ? to.length : from.length;
      out += value.slice(i, at + skip);
      i = at + skip;
    }
  }
  return out + value.slice(i);
}

// ---------------------------------------------------------------------------------------------
// Writing a drop-in

export interface ExecLineOptions {
  // The program, when it differs from argv[0]: written with systemd's "@" prefix.
  path?: string;
  // Written with the "-" prefix.
  ignoreErrors?: boolean;
  // argv is exactly what the process must receive: every "$" is doubled so systemd does not
  // expand it. Leave false for argv read back from systemd (parseUnitShow, parseExecStartJson),
  // which still holds the unit's $VAR references and "$$" as written.
  literal?: boolean;
}

const PREFIX_CHARS = /^[-@:+!|]/;

// One ExecStart= value (without "ExecStart=") that systemd parses back into argv.
export function execStartLine(argv: string[], opts: ExecLineOptions = {}): string {
  const first = argv[0];
  if (first === undefined || first === "") throw new Error("execStartLine: empty argv[0]");
  const program = opts.path ?? first;
  checkProgram(program, opts.literal === true && opts.path === undefined);
  const word = (arg: string): string => quoteExecWord(arg, opts.literal === true);
  const prefix = `${opts.ignoreErrors ? "-" : ""}${opts.path !== undefined ? "@" : ""}`;
  // The "@" path is never $-expanded, so it is written as is even when literal.
  const words =
    opts.path !== undefined ? [quoteExecWord(program, false), word(first)] : [word(first)];
  for (const arg of argv.slice(1)) {
    // A lone ";" separates commands; systemd reads "\;" as the argument ";".
    words.push(arg === ";" ? "\\;" : word(arg));
  }
  return prefix + words.join(" ");
}

// systemd refuses programs with quotes, backslashes or control characters, and relative paths
// other than a bare name; a leading prefix character would be read as a flag.
function checkProgram(program: string, literal: boolean): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (program === "" || /["'\\\x00-\x1f\x7f]/.test(program) || PREFIX_CHARS.test(program)) {
    throw new Error(`execStartLine: systemd cannot run ${JSON.stringify(program)}`);
  }
  // The program path is never $-expanded, argv[0] is: a literal "$" cannot be in both.
  if (literal && program.includes("$")) {
    throw new Error(`execStartLine: ${JSON.stringify(program)} has a "$"; pass it as opts.path`);
  }
  if (!program.startsWith("/") && program.includes("/")) {
    throw new Error(
      `execStartLine: ${JSON.stringify(program)} is neither absolute nor a bare name`,
    );
  }
  if (program.endsWith("/")) throw new Error(`execStartLine: ${program} is a directory`);
}

const C_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  "\\": "\\\\",
  '"': '\\"',
};

// A word for ExecStart=/Environment=: "%" doubled (specifiers), quoted with C escapes when it
// holds anything systemd's word splitter would act on.
function quoteExecWord(arg: string, literal: boolean): string {
  if (arg.includes("\0")) throw new Error("systemd cannot pass a NUL byte");
  let text = arg.replaceAll("%", "%%");
  if (literal) text = text.replaceAll("$", "$$$$");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters need quoting
  if (text !== "" && !/[\s"'\\\x00-\x1f\x7f]/.test(text)) return text;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaped one by one
  const body = text.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    return C_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return `"${body}"`;
}

// One Environment= value (without "Environment=") for KEY=value. systemd expands specifiers but
// never $VAR in Environment=, so only "%" is doubled.
export function environmentLine(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new Error(`environmentLine: ${JSON.stringify(key)} is not a valid variable name`);
  }
  return quoteExecWord(`${key}=${value}`, false);
}
