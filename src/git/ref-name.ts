// Which ref names may reach git's argv: the configured branch, and a ref given on the command line.
import { UsageError } from "../errors.js";

// Control characters (C0, DEL, C1): refused everywhere, they would also garble a terminal.
const CONTROL = /\p{Cc}/u;

// Why `name` is not a valid git branch name, or undefined when it is. The rules of
// git-check-ref-format(1) for refs/heads/<name>, plus `--branch`'s: no leading "-" (git would
// read the name as an option) and not "HEAD". Stricter than git only in refusing "@" and any
// Unicode space or control character, not just ASCII ones.
export function branchNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name.startsWith("-")) return 'starts with "-"';
  if (name === "HEAD" || name === "@") return `is "${name}", which git reads as the current commit`;
  if (/\s/.test(name) || CONTROL.test(name)) return "contains a space or control character";
  const bad = /[~^:?*[\\]/.exec(name);
  if (bad) return `contains "${bad[0]}"`;
  if (name.includes("..")) return 'contains ".."';
  if (name.includes("@{")) return 'contains "@{"';
  if (name.startsWith("/") || name.endsWith("/") || name.includes("//")) {
    return 'starts or ends with "/", or contains "//"';
  }
  if (name.endsWith(".")) return 'ends with "."';
  const part = name.split("/").find((p) => p.startsWith(".") || p.endsWith(".lock"));
  if (part !== undefined) return `has a part "${part}" that starts with "." or ends with ".lock"`;
  return undefined;
}

// Refuse a ref (branch, tag or commit) that git could misread: an option ("-..."), a range
// (".."), a reflog expression ("@{"), or one with whitespace or control characters.
export function assertSafeRef(ref: string): void {
  const problem = refProblem(ref);
  if (problem) throw new UsageError(`invalid ref ${JSON.stringify(ref)}: it ${problem}`);
}

// Why assertSafeRef refuses `ref`, or undefined.
function refProblem(ref: string): string | undefined {
  if (ref === "") return "is empty";
  if (ref.startsWith("-")) return 'starts with "-"';
  if (/\s/.test(ref) || CONTROL.test(ref)) return "contains whitespace or a control character";
  if (ref.includes("..")) return 'contains ".."';
  if (ref.includes("@{")) return 'contains "@{"';
  return undefined;
}
