// Raw HTTP over a TCP socket, for what fetch() will not send: malformed request targets and
// clients that trickle their request a byte at a time.
import net from "node:net";

export interface RawAnswer {
  // From the status line; undefined when the server closed without answering.
  status: number | undefined;
  body: string;
  // From the connection to the server closing it.
  closedAfterMs: number;
}

// Send `head` at once, then `trickle` one byte every `everyMs`; resolve when the server closes
// the connection (every answer of the status endpoint to these requests closes it), or after
// `giveUpMs`, so a server that never closes fails the test instead of hanging it.
export function rawRequest(
  address: string,
  head: string,
  trickle = "",
  everyMs = 1000,
  giveUpMs = 14_000,
): Promise<RawAnswer> {
  const colon = address.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    let received = "";
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < trickle.length && socket.writable) socket.write(trickle.charAt(sent++));
    }, everyMs);
    socket.on("connect", () => socket.write(head));
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    // The server may reset the connection after answering; what it sent still counts.
    socket.on("error", (error) => {
      if (!received) reject(error);
    });
    socket.on("close", () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      const [headers = "", body = ""] = received.split(/\r\n\r\n(.*)/s);
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(headers)?.[1];
      resolve({
        status: status === undefined ? undefined : Number(status),
        body,
        closedAfterMs: Date.now() - started,
      });
    });
  });
}

// A GET of `target` exactly as given, in one write; the connection closes after the answer.
export function rawGet(address: string, target: string): Promise<RawAnswer> {
  return rawRequest(
    address,
    `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
  );
}
