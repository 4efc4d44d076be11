// A remote URL as messages may show it: without a user name or password written into it
// (https://user:token@host/...), which must never reach a log line or the state DB.
export function displayUrl(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//");
  }
}

// Any text git printed, with a user name and password written into a URL taken out ("fatal:
// unable to access 'https://user:token@host/...'", "Cannot access URL http://user:pw@...").
export function withoutCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]*@/gi, "$1");
}
