// Socket activation for the sample "shop" app: systemd owns the listening socket, so clients
// queue in the kernel while shop.service is replaced instead of being refused. The same setup as
// test/integration/sync-socket.test.ts, for callers that want it without that test's hooks.
import type { Machine } from "./machine.js";
import { type ConfigObject, waitForHealth } from "./sample-app.js";

export const SHOP_SOCKET = "shop.socket";

export const SHOP_SOCKET_UNIT = `[Unit]
Description=Shop listening socket (kept by systemd while the service restarts)

[Socket]
ListenStream=127.0.0.1:8000
Backlog=1024

[Install]
WantedBy=sockets.target
`;

// The service needs its socket, and starts after it, so gunicorn inherits the listening fd.
export const SHOP_SOCKET_DROP_IN = "[Unit]\nRequires=shop.socket\nAfter=shop.socket\n";

// The agent.yaml key that tells the agent to stop only the service and keep the socket.
export const SHOP_SOCKET_APP_CONFIG: ConfigObject = { socket: SHOP_SOCKET };

// Put a running shop.service (as provisionShop leaves it) behind shop.socket: write the socket
// unit and the drop-in, then restart the service under the socket and wait for /health on `sha`.
// The agent config must carry SHOP_SOCKET_APP_CONFIG (pass it to provisionShop).
export async function enableShopSocket(machine: Machine, sha: string): Promise<void> {
  await machine.writeFile(`/etc/systemd/system/${SHOP_SOCKET}`, SHOP_SOCKET_UNIT, 0o644);
  await machine.writeFile(
    "/etc/systemd/system/shop.service.d/socket.conf",
    SHOP_SOCKET_DROP_IN,
    0o644,
  );
  await machine.sh(
    `systemctl daemon-reload
     systemctl stop shop.service
     systemctl enable --now --quiet ${SHOP_SOCKET}
     systemctl start shop.service`,
    { reject: true },
  );
  await waitForHealth(machine, sha);
}
