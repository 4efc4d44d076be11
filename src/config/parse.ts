// Parse and schema-check agent.yaml's text: YAML syntax, then the zod schema, each problem
// named with its key path and line. Pure, so unit tests and `agent adopt` can feed it strings.
import { LineCounter, parseDocument } from "yaml";
import type { ZodError } from "zod";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { type Config, configSchema } from "./schema.js";

// Parse and schema-check config text; throws ConfigError listing every problem.
export function parseConfigText(file: string, text: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: `line ${e.linePos?.[0]?.line ?? "?"}`,
        message: `YAML syntax: ${(e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
      })),
    );
  }
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    zodProblems(result.error, (keys) => lineOf(doc, lineCounter, keys)),
  );
}

// Turn zod issues into "apps.shop.database.mode (line 12): expected ..." problems.
function zodProblems(
  error: ZodError,
  line: (keys: PropertyKey[]) => number | undefined,
): ConfigProblem[] {
  return error.issues.map((issue) => {
    const keys = [...issue.path];
    if (issue.code === "unrecognized_keys") {
      return {
        path: formatPath(keys, line([...keys, issue.keys[0] ?? ""])),
        message: `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`,
      };
    }
    return { path: formatPath(keys, line(keys)), message: issue.message };
  });
}

function formatPath(keys: PropertyKey[], line: number | undefined): string {
  const joined = keys.map(String).join(".");
  return line === undefined ? joined : `${joined} (line ${line})`;
}

// Line number of the YAML node at a key path, to point the operator at the spot.
function lineOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  keys: PropertyKey[],
): number | undefined {
  for (let n = keys.length; n > 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true) as
      | { range?: [number, number, number] }
      | undefined;
    if (node?.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}
