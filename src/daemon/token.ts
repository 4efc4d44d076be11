// The status endpoint's bearer token: read from a root-only file, compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import { open } from "node:fs/promises";

// Why a token file was refused; the endpoint does not start without a usable token.
export class TokenFileError extends Error {
  override name = "TokenFileError";
}

// Read the token, refusing a file that is missing, empty, not a regular file, or readable or
// writable by group or others (a token anyone can read protects nothing). The mode is taken
// from the open descriptor, so the file checked is the file read.
export async function readTokenFile(file: string, uid = process.getuid?.()): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenFileError(
      `${file}: ${code === "ENOENT" ? "missing" : `cannot read (${code ?? String(error)})`}`,
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TokenFileError(`${file}: not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      throw new TokenFileError(`${file}: mode ${mode} lets group or others at it; chmod 600`);
    }
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      throw new TokenFileError(`${file}: owned by uid ${stat.uid}, expected root`);
    }
    const token = (await handle.readFile("utf8")).trim();
    if (token === "") throw new TokenFileError(`${file}: empty`);
    return token;
  } finally {
    await handle.close();
  }
}

// The token from an Authorization header ("Bearer <token>"), or undefined.
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return match?.[1];
}

// Constant-time comparison: both sides are hashed first so the compared buffers always have
// the same length and the time taken says nothing about the token's length or prefix.
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
