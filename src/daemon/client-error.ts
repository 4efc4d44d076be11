// The status endpoint's answer to a request Node refuses before any route sees it: one it
// cannot parse (a target with a space or a control character), or one cut by the header or
// request timeout. Node's own answer has no body; every other error here is JSON.
import type { Duplex } from "node:stream";

// Status line and JSON error per Node error code; anything else is a parse error: 400.
const ANSWERS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", "request timeout"],
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large", "request headers too large"],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "Payload Too Large", "request body too large"],
};
const BAD_REQUEST: [number, string, string] = [400, "Bad Request", "bad request"];

// A `clientError` listener: answer (unless the peer is gone or a response is already on the
// wire, which an answer would corrupt) and close, as Node does without a listener.
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (socket.writable && !responseStarted(socket)) {
    const [status, reason, message] = ANSWERS[error.code ?? ""] ?? BAD_REQUEST;
    const body = `${JSON.stringify({ error: message })}\n`;
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        "content-type: application/json; charset=utf-8\r\n" +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        "cache-control: no-store\r\nconnection: close\r\n\r\n" +
        body,
    );
  }
  socket.destroy(error);
}

// Whether a response on this socket has sent its headers. Node keeps the response in flight in
// the socket's `_httpMessage` (internal, and what its own clientError default looks at).
function responseStarted(socket: Duplex): boolean {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })
    ._httpMessage;
  return inFlight?.headersSent === true;
}
