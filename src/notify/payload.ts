// The body POSTed for an event, in the target's format: `json` is the event itself; `slack` is a
// Slack incoming-webhook message (also what Mattermost's incoming webhooks take): `text`, the
// fallback every client shows, and Block Kit blocks for a readable card.
import type { NotifyEvent } from "./event.js";

const ICONS: Record<string, string> = {
  deployed: ":white_check_mark:",
  "rolled-back": ":leftwards_arrow_with_hook:",
  failed: ":x:",
  "check-critical": ":rotating_light:",
  "check-recovered": ":large_green_circle:",
  "promotion-failed": ":warning:",
  test: ":wave:",
};

// A section's text is at most 3000 characters in Block Kit.
const MAX_SECTION = 3000;

export function payload(format: "json" | "slack", event: NotifyEvent): string {
  if (format === "json") return JSON.stringify(event);
  const icon = ICONS[event.event] ?? "";
  const text = `${icon} *${escapeSlack(event.app)}* ${escapeSlack(event.event)}: ${escapeSlack(event.message)}`;
  const context = [
    `host ${escapeSlack(event.host)}`,
    event.revision ? `revision \`${escapeSlack(event.revision.slice(0, 12))}\`` : "",
    event.at,
  ].filter(Boolean);
  return JSON.stringify({
    text: text.slice(0, MAX_SECTION),
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: text.slice(0, MAX_SECTION) } },
      { type: "context", elements: [{ type: "mrkdwn", text: context.join(" · ") }] },
    ],
  });
}

// Slack's three control characters in message text: &, < and > (its docs: "Escaping text").
// Anything else, *bold* or `code` marks an app put in a message included, only formats.
export function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
