// The status endpoint's `http.listen` value: "127.0.0.1:9107", "[::1]:9107", "localhost:9107".
import { isIP } from "node:net";

export interface ListenAddress {
  host: string;
  port: number;
}

// Split host and port; brackets around an IPv6 address are dropped.
export function parseListenAddress(text: string): ListenAddress {
  const colon = text.lastIndexOf(":");
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(text.slice(colon + 1)) };
}

// Whether only this machine can reach the address (the safe default the docs promise).
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
