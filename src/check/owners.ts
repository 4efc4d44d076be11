// User and group names ↔ ids for the permissions check, each looked up once per run.
import { lookupGroupId, lookupUser, nameOfId } from "../system/accounts.js";

export interface OwnerLookup {
  uidOf(name: string): Promise<number | undefined>;
  gidOf(name: string): Promise<number | undefined>;
  // "root:root" for ids, falling back to the number when no name exists.
  namesOf(uid: number, gid: number): Promise<string>;
}

// A lookup that asks the account databases at most once per name or id.
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
