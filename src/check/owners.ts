// User and group names ↔ ids for the permissions check, each looked up once per run.
import { lookupGroupId, lookupUser } from "../system/accounts.js";
import { run } from "../system/run.js";

export interface OwnerLookup {
  uidOf(name: string): Promise<number | undefined>;
  gidOf(name: string): Promise<number | undefined>;
  // "root:root" for ids, falling back to the number when no name exists.
  namesOf(uid: number, gid: number): Promise<string>;
}

// A lookup that asks NSS (getent) at most once per name or id.
export function createOwnerLookup(): OwnerLookup {
  const cache = new Map<string, Promise<number | string | undefined>>();
  const once = <T extends number | string | undefined>(key: string, get: () => Promise<T>) => {
    let pending = cache.get(key);
    if (!pending) {
      pending = get();
      cache.set(key, pending);
    }
    return pending as Promise<T>;
  };
  return {
    uidOf: (name) => once(`u:${name}`, async () => (await lookupUser(name))?.uid),
    gidOf: (name) => once(`g:${name}`, () => lookupGroupId(name)),
    async namesOf(uid, gid) {
      const [user, group] = await Promise.all([
        once(`un:${uid}`, () => nameOfId("passwd", uid)),
        once(`gn:${gid}`, () => nameOfId("group", gid)),
      ]);
      return `${user}:${group}`;
    },
  };
}

// The name of a uid or gid (first field of its getent entry), or the number itself.
async function nameOfId(database: "passwd" | "group", id: number): Promise<string> {
  const result = await run("getent", [database, String(id)], { reject: false });
  const name = result.exitCode === 0 ? result.stdout.split(":")[0] : undefined;
  return name || String(id);
}
