// Whether a commit carries a good ssh signature by one of the keys in an allowed-signers file:
// git verify-commit with gpg.ssh.allowedSignersFile (git runs ssh-keygen -Y verify), whose exit
// status is the verdict; its words name the signer or say what is wrong.
import { printable } from "../output/sanitize.js";
import { git } from "./git.js";

export type SignatureVerdict = { good: true; signer: string } | { good: false; reason: string };

// Signature checks are local (no network): a minute means a stuck disk.
const VERIFY_TIMEOUT_MS = 60_000;

export async function verifyCommitSignature(
  repoDir: string,
  sha: string,
  allowedSignersFile: string,
): Promise<SignatureVerdict> {
  const result = await git(
    repoDir,
    [
      "-c",
      `gpg.ssh.allowedSignersFile=${allowedSignersFile}`,
      // Only an ssh signature can pass: an OpenPGP or X.509 one would be judged by root's own
      // keyrings, which allowed_signers does not name.
      "-c",
      "gpg.openpgp.program=false",
      "-c",
      "gpg.x509.program=false",
      "verify-commit",
      "--end-of-options",
      sha,
    ],
    { reject: false, timeoutMs: VERIFY_TIMEOUT_MS },
  );
  const said = `${result.stderr}\n${result.stdout}`;
  if (result.exitCode === 0) {
    const good = /Good "git" signature for (.+?) with (\S+) key (\S+)/.exec(said);
    return {
      good: true,
      signer: good ? printable(`${good[1]} (${good[2]} ${good[3]})`, 300) : "a trusted key",
    };
  }
  const reason = signatureProblem(said);
  // Only ssh signatures are judged, so git says nothing about another kind: say which it is
  // rather than "not signed".
  if (reason === NOT_SIGNED) {
    const kind = await signatureKind(repoDir, sha);
    if (kind && kind !== "ssh") {
      return {
        good: false,
        reason: `signed with ${kind === "openpgp" ? "an OpenPGP (GPG)" : "an X.509"} key; only ssh signatures by a key in allowed_signers are accepted`,
      };
    }
  }
  return { good: false, reason };
}

const NOT_SIGNED = "the commit is not signed";

// The kind of signature the commit object carries in its gpgsig header, if any. Read from the
// object's head only: the headers come before the message, however long that is.
async function signatureKind(
  repoDir: string,
  sha: string,
): Promise<"openpgp" | "x509" | "ssh" | undefined> {
  const result = await git(repoDir, ["cat-file", "commit", sha], {
    reject: false,
    timeoutMs: VERIFY_TIMEOUT_MS,
    maxBuffer: 64 * 1024,
    keepHead: true,
  });
  if (result.exitCode !== 0) return undefined;
  for (const line of result.stdout.split("\n")) {
    if (line === "") break;
    const value = /^gpgsig(?:-sha256)? (.*)$/.exec(line)?.[1]?.trim();
    if (value === undefined) continue;
    if (value === "-----BEGIN PGP SIGNATURE-----") return "openpgp";
    if (value === "-----BEGIN SSH SIGNATURE-----") return "ssh";
    if (value === "-----BEGIN SIGNED MESSAGE-----") return "x509";
  }
  return undefined;
}

// One line: what git and ssh-keygen found wrong.
function signatureProblem(said: string): string {
  const text = said.trim();
  if (text === "" || /no signature found/i.test(text)) return NOT_SIGNED;
  if (/No principal matched/i.test(text)) {
    const key = /with (\S+ key \S+)/.exec(text)?.[1];
    return `signed by a key that is not an allowed signer${key ? ` (${key})` : ""}`;
  }
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text;
  return printable(line.replace(/^(error|fatal):\s*/, ""), 300);
}
