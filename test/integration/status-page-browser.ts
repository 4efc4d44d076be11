// Run inside a test machine (whose network the status endpoint listens on): open the status page
// in a real headless Chromium, sign in through its form, and print what the DOM holds as JSON
// for notify.test.ts to judge. Usage: node status-page-browser.js URL TOKEN SCREENSHOT
import { chromium } from "playwright-core";

const [url = "", token = "", screenshot = ""] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const stranger = await browser.newPage();
  await stranger.goto(url);
  const strangerHtml = await stranger.content();
  await stranger.close();

  // A phone's viewport: the page must read at that width.
  const context = await browser.newContext({ viewport: { width: 412, height: 915 } });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(url);
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForURL(url), page.click('button[type="submit"]')]);
  const cookie = (await context.cookies()).find((c) => c.name === "deploy_agent_session");
  const deployments = await page.locator("div.deployment").evaluateAll((divs) =>
    divs.map((d) => ({
      id: Number(d.getAttribute("data-id")),
      bars: d.querySelectorAll("rect.step").length,
    })),
  );
  const facts = {
    strangerHtml,
    cookie: cookie
      ? { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, value: cookie.value }
      : null,
    apps: await page
      .locator("section.app")
      .evaluateAll((s) => s.map((e) => e.getAttribute("data-app"))),
    revision:
      (await page.locator("code.revision").count()) > 0
        ? ((await page.locator("code.revision").first().textContent())?.trim() ?? null)
        : null,
    html: await page.content(),
    deployments,
    runs: await page.locator("svg.durations circle.run").count(),
    checkRows: await page.locator("table.checks tbody tr").count(),
    scrollWidth: await page.evaluate(() => document.documentElement.scrollWidth),
    requests,
  };
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(`${JSON.stringify(facts)}\n`);
} finally {
  await browser.close();
}
