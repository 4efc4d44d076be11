// One POST to a receiver, bounded in time (5 s in all, headers and body) and in what is read back;
// never throws, and can be aborted (a CLI run that exits, a daemon that stops). Errors name the
// target by its label, never by its URL: a Slack webhook URL is a secret, and node's own messages
// name only the host.
import http from "node:http";
import { httpsModule } from "../system/https-module.js";

export const ATTEMPT_TIMEOUT_MS = 5_000;
const MAX_ANSWER = 2048;

export interface PostAnswer {
  ok: boolean;
  status: number | null;
  // The receiver's answer (first 2 KiB), or why there was none.
  body: string;
  error: string | null;
  ms: number;
}

export async function postJson(
  url: string,
  body: string,
  timeoutMs = ATTEMPT_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<PostAnswer> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return { ok: false, status: null, body: "", error: "not a URL", ms: 0 };
  }
  if (protocol !== "http:" && protocol !== "https:") {
    return { ok: false, status: null, body: "", error: `not http(s): ${protocol}`, ms: 0 };
  }
  const client = protocol === "https:" ? httpsModule() : http;
  return new Promise((resolve) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    const settle = (answer: Omit<PostAnswer, "ms">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      request?.destroy();
      resolve({ ...answer, ms: ms() });
    };
    const onAbort = () => settle({ ok: false, status: null, body: "", error: "aborted" });
    try {
      request = client.request(
        url,
        {
          method: "POST",
          agent: false,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "user-agent": "deploy-agent",
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            if (size < MAX_ANSWER) chunks.push(chunk);
            size += chunk.length;
          });
          response.on("end", () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8").slice(0, MAX_ANSWER);
            const ok = status >= 200 && status < 300;
            settle({ ok, status, body: text, error: ok ? null : `HTTP ${status}` });
          });
          response.on("error", (error) =>
            settle({
              ok: false,
              status: response.statusCode ?? null,
              body: "",
              error: error.message,
            }),
          );
        },
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      settle({ ok: false, status: null, body: "", error: code ?? "request refused by node" });
      return;
    }
    timer = setTimeout(
      () =>
        settle({
          ok: false,
          status: null,
          body: "",
          error: `no answer within ${timeoutMs / 1000} s`,
        }),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    request.on("error", (error: NodeJS.ErrnoException) =>
      settle({ ok: false, status: null, body: "", error: error.code ?? error.message }),
    );
    request.end(body);
  });
}
