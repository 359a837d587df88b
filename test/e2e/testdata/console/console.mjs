// Drives the Sluice web console in headless Chromium (Debian's /usr/bin/chromium)
// with playwright-core, as an operator would: the console refuses a browser
// without the root key, lists the function and the API, invokes the function
// through the API's path-form URL copied from the page, and sees the log line
// arrive in the live tail. Every step prints its name; the last line is "ok".
// Environment: CONSOLE_URL (http://host:port), CONSOLE_USER/CONSOLE_PASSWORD
// (empty in open mode), FUNCTION, API_ID, MARKER, SHOTS (a directory).
import { chromium } from "playwright-core";
import path from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const base = env("CONSOLE_URL") + "/_sluice/console";
const user = env("CONSOLE_USER");
const password = env("CONSOLE_PASSWORD");
const fn = env("FUNCTION");
const apiID = env("API_ID");
const marker = env("MARKER");
const shots = env("SHOTS");

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function step(name, f) {
  console.log("step:", name);
  await f();
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],
});
try {
  if (user !== "") {
    // Headless Chromium cannot prompt: a Basic challenge it has no credentials
    // for ends the navigation with ERR_INVALID_AUTH_CREDENTIALS; with wrong ones
    // it shows the 401 page.
    for (const [name, creds] of [["without credentials", undefined], ["with a wrong password", { username: user, password: password + "x" }]]) {
      await step(`refused ${name}`, async () => {
        const ctx = await browser.newContext({ httpCredentials: creds });
        const resp = await ctx.request.get(base, { failOnStatusCode: false });
        check(resp.status() === 401, `console ${name}: ${resp.status()}`);
        check(resp.headers()["www-authenticate"]?.startsWith('Basic realm="sluice"'), "no Basic challenge");
        const page = await ctx.newPage();
        let err;
        const nav = await page.goto(base).catch((e) => { err = e; });
        check(nav ? nav.status() === 401 : /ERR_INVALID_AUTH_CREDENTIALS/.test(err.message), `navigation ${name}: ${nav?.status()} ${err}`);
        check(!nav || !(await nav.text()).includes(fn), "the refused page shows a function");
        await ctx.close();
      });
    }
  }


  const ctx = await browser.newContext({
    httpCredentials: user !== "" ? { username: user, password } : undefined,
    viewport: { width: 1280, height: 800 },
  });
  const page = await ctx.newPage();
  const pageErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(m.text());
  });
  page.on("response", (r) => {
    if (r.status() >= 400) pageErrors.push(`${r.status()} ${r.url()}`);
  });

  await step("functions list", async () => {
    const resp = await page.goto(base);
    check(resp.status() === 200, `functions page: ${resp.status()}`);
    const h = resp.headers();
    check(h["content-security-policy"]?.startsWith("default-src 'self'"), `CSP ${h["content-security-policy"]}`);
    check(h["cache-control"] === "no-store", `Cache-Control ${h["cache-control"]}`);
    const row = page.locator(`tr[data-function="${fn}"]`);
    await row.waitFor();
    const text = await row.innerText();
    check(text.includes("nodejs22.x") && text.includes("Active"), `row: ${text}`);
    // The description is markup-looking text and must stay text.
    check((await row.locator(".desc").textContent()) === "<b>not bold</b>", "description not shown as text");
    check((await row.locator(".desc b").count()) === 0, "description rendered as HTML");
    await page.screenshot({ path: path.join(shots, "functions.png"), fullPage: true });
  });

  let pathURL;
  await step("APIs with both invoke URLs", async () => {
    await page.click("nav >> text=APIs");
    const api = page.locator(`section[data-api="${apiID}"]`);
    await api.waitFor();
    const urls = await api.locator("code.url").allTextContents();
    check(urls.length === 2, `invoke URLs: ${urls}`);
    const [hostURL, p] = urls;
    check(hostURL.startsWith(`http://${apiID}.execute-api.localhost:`), `Host form ${hostURL}`);
    check(p === `${env("CONSOLE_URL")}/restapis/${apiID}/$default/_user_request_/`, `path form ${p}`);
    check((await api.innerText()).includes("$default"), "no $default route/stage");
    pathURL = p;
    // The copy button puts the URL on the clipboard.
    await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env("CONSOLE_URL") });
    await api.locator("button.copy").nth(1).click();
    await page.locator("button.copy.done").first().waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    check(copied === pathURL, `copied ${copied}`);
    await page.screenshot({ path: path.join(shots, "apis.png"), fullPage: true });
  });

  await step("live tail sees an invocation", async () => {
    await page.goto(`${base}/functions/${fn}`);
    await page.locator("#tail-status", { hasText: "live" }).waitFor({ timeout: 15000 });
    const resp = await fetch(`${pathURL}console/${marker}`);
    const body = await resp.text();
    check(resp.status === 200 && body.includes(marker), `invoke through ${pathURL}: ${resp.status} ${body}`);
    await page.locator("#tail", { hasText: `hello from /console/${marker}` }).waitFor({ timeout: 20000 });
    await page.locator("#tail", { hasText: "REPORT RequestId:" }).waitFor({ timeout: 20000 });
    await page.screenshot({ path: path.join(shots, "function.png"), fullPage: true });
  });

  await step("recent invocations from REPORT", async () => {
    await page.reload();
    const rows = page.locator("#invocations tbody tr");
    await rows.first().waitFor();
    check((await rows.first().innerText()).includes("completed"), await rows.first().innerText());
  });

  await step("recent requests of the API", async () => {
    await page.click("nav >> text=APIs");
    const recent = page.locator(`section[data-api="${apiID}"] table.recent tbody tr`);
    await recent.first().waitFor();
    const row = await recent.first().innerText();
    check(row.includes("200") && row.includes(" ms"), `recent request row: ${row}`);
  });

  await step("metrics", async () => {
    await page.click("nav >> text=Metrics");
    const table = page.locator("#lambda-metrics");
    await table.waitFor();
    check((await table.innerText()).includes(fn), "function missing from the Lambda metrics");
    check((await page.locator("#api-metrics").innerText()).includes(apiID), "API missing from the API metrics");
    await page.screenshot({ path: path.join(shots, "metrics.png"), fullPage: true });
  });

  check(pageErrors.length === 0, `console errors: ${pageErrors.join("; ")}`);
  await ctx.close();
} finally {
  await browser.close();
}
console.log("ok");
