// Look up users and groups through NSS (getent), so LDAP/sssd accounts work like local ones.
import { run } from "./run.js";

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

// The passwd entry of a user, or undefined when the host has no such user.
export async function lookupUser(name: string): Promise<Account | undefined> {
  const result = await run("getent", ["passwd", name], { reject: false });
  if (result.exitCode !== 0) return undefined;
  const [, , uid, gid, , home] = result.stdout.split("\n")[0]?.split(":") ?? [];
  return { name, uid: Number(uid), gid: Number(gid), home: home || "/" };
}

// The numeric id of a group, or undefined when the host has no such group.
export async function lookupGroupId(name: string): Promise<number | undefined> {
  const result = await run("getent", ["group", name], { reject: false });
  if (result.exitCode !== 0) return undefined;
  return Number(result.stdout.split(":")[2]);
}
