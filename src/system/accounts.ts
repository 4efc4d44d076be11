// Look up users and groups: /etc/passwd and /etc/group first, then NSS (getent), so LDAP/sssd
// accounts work like local ones.
import { readFile } from "node:fs/promises";
import { run } from "./run.js";

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

type Database = "passwd" | "group";
const FILES: Record<Database, string> = { passwd: "/etc/passwd", group: "/etc/group" };
const NAME = 0;
const ID = 2;

// The passwd entry of a user, or undefined when the host has no such user.
export async function lookupUser(name: string): Promise<Account | undefined> {
  const fields = await entry("passwd", NAME, name);
  if (!fields) return undefined;
  const [, , uid, gid, , home] = fields;
  return { name, uid: Number(uid), gid: Number(gid), home: home || "/" };
}

// The numeric id of a group, or undefined when the host has no such group.
export async function lookupGroupId(name: string): Promise<number | undefined> {
  const fields = await entry("group", NAME, name);
  return fields ? Number(fields[ID]) : undefined;
}

// The name of a uid or gid, or the number itself when no entry has it.
export async function nameOfId(database: Database, id: number): Promise<string> {
  return (await entry(database, ID, String(id)))?.[NAME] || String(id);
}

// The entry whose field `at` (name or id) is `key`: getent accepts either as its key.
async function entry(database: Database, at: number, key: string): Promise<string[] | undefined> {
  return (await localEntry(FILES[database], at, key)) ?? (await nssEntry(database, key));
}

// "files" comes first in Debian's nsswitch.conf for passwd and group, so an entry found here is
// the one getent would return; reading it costs no process spawn, which is most of the config
// check's time in a short `agent check`. A miss (or an unreadable file) falls through to getent.
async function localEntry(file: string, at: number, key: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length > ID && fields[at] === key) return fields;
  }
  return undefined;
}

async function nssEntry(database: Database, key: string): Promise<string[] | undefined> {
  const result = await run("getent", [database, key], { reject: false });
  if (result.exitCode !== 0) return undefined;
  return result.stdout.split("\n")[0]?.split(":");
}

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

// The user and group a command runs as (an app's `user:`/`group:`); throws when either is
// missing on this host (the config check refuses that earlier, but accounts can vanish).
export async function runAs(user: string, group: string): Promise<RunAs> {
  const account = await lookupUser(user);
  const gid = await lookupGroupId(group);
  if (!account || gid === undefined) throw new Error(`no user ${user}:${group} on this host`);
  return { name: account.name, uid: account.uid, gid, home: account.home };
}
