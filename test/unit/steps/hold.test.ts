// The start hold's drop-in: a waiting ExecStartPre that systemd runs as root and that the stop
// step can recognise in a cgroup.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HOLD_TAG, holdDropIn, holdPaths } from "../../../src/steps/hold.js";

test("drop-in waits while the marker exists, privileged, tagged for the stop step", () => {
  const { marker, dropIn } = holdPaths({ name: "shop", service: "shop.service" });
  assert.match(marker, /\/holds\/shop\.hold$/);
  assert.equal(dropIn, "/etc/systemd/system/shop.service.d/deploy-agent-hold.conf");
  const text = holdDropIn(marker);
  assert.match(text, /^\[Service\]$/m);
  const line = text.split("\n").find((l) => l.startsWith("ExecStartPre="));
  assert.ok(line);
  assert.ok(line.startsWith("ExecStartPre=+/bin/sh -c "), line);
  assert.ok(line.includes(`while [ -e ${marker} ]`), line);
  assert.ok(line.includes(HOLD_TAG));
  // systemd expands $NAME and %x in command lines: the waiter must use neither.
  assert.doesNotMatch(line, /\$|%/);
});
