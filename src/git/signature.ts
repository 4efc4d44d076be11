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
  return { good: false, reason: signatureProblem(said) };
}

// One line: what git and ssh-keygen found wrong.
function signatureProblem(said: string): string {
  const text = said.trim();
  if (text === "" || /no signature found/i.test(text)) return "the commit is not signed";
  if (/No principal matched/i.test(text)) {
    const key = /with (\S+ key \S+)/.exec(text)?.[1];
    return `signed by a key that is not an allowed signer${key ? ` (${key})` : ""}`;
  }
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text;
  return printable(line.replace(/^(error|fatal):\s*/, ""), 300);
}
