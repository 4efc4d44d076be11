// The path a request asks for, read from its request-target (RFC 9112 section 3.2).

// Origin-form ("/v1/status?x"): RFC 3986 path and query characters only, so no "[", "]", "#",
// "\", space or non-ASCII (Node's parser refuses some of these, not all).
const ORIGIN_FORM = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
// Absolute-form ("http://host/health"): the same, plus the brackets of an IPv6 host.
const ABSOLUTE_FORM = /^https?:\/\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?[\]]*$/i;
// A "%" that does not start an escape of two hex digits.
const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

// The routing path of `target`, or undefined when it is malformed (answered 400). Origin-form
// is always a path on this server: resolved against a base URL, "//[" or "//" would be read as
// a host and make `new URL` throw. Absolute-form must be accepted by an HTTP/1.1 server, so it
// is parsed as a URL. Asterisk-form, authority-form and other schemes are refused.
export function requestPath(target: string): string | undefined {
  if (BROKEN_ESCAPE.test(target)) return undefined;
  const absolute = ABSOLUTE_FORM.test(target);
  if (!absolute && !ORIGIN_FORM.test(target)) return undefined;
  try {
    return new URL(absolute ? target : `http://localhost${target}`).pathname;
  } catch {
    return undefined;
  }
}
