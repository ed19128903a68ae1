/*
 * The admins' Usage view, as an admin sees it in Chromium: after two users'
 * sessions held GPUs and stopped, the view draws GPU-hours per user per day
 * as stacked SVG bars with a legend, lists the same rows in a table with
 * the API's numbers, and its "Download CSV" link downloads those rows with
 * a header. A user who is not an admin does not get the view. Screenshots go
 * to build/browser-artifacts/.
 *
 * Run: GPUHUB_BIN=build/gpuhub node --test tests/browser/   (or make browser)
 */
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { describe, before, after, test } = require("node:test");
const { ARTIFACTS, Daemon, screenshot, waitFor, waitText, sleep } = require("./harness");
const { PASSWORD, openBrowser, closeAll, signIn } = require("./helpers");

/* Signs in as name and makes an API token for them. */
async function tokenFor(daemon, name) {
  let r = await fetch(daemon.url + "/api/v1/login", {
    method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ username: name, password: PASSWORD }) });
  assert.equal(r.status, 200, await r.text());
  const cookie = r.headers.get("set-cookie").split(";")[0];
  r = await fetch(daemon.url + "/api/v1/tokens", {
    method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json", Cookie: cookie },
    body: JSON.stringify({ note: "browser test" }) });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text).token;
}

/* Launches a session as token's owner, lets it hold its GPUs for a while,
 * stops it and waits until it is stopped (which books its usage). */
async function holdAndStop(daemon, token, name, gpus) {
  let r = await daemon.api("POST", "/sessions", { env: "usage-lab", name, gpus }, token);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  await waitFor(async () => (await daemon.api("GET", `/sessions/${id}`, undefined, token)).body.state === "running",
    `session ${name} running`);
  await sleep(1500);
  r = await daemon.api("POST", `/sessions/${id}/stop`, undefined, token);
  assert.ok(r.status === 200 || r.status === 202, JSON.stringify(r.body));
  await waitFor(async () => (await daemon.api("GET", `/sessions/${id}`, undefined, token)).body.state === "stopped",
    `session ${name} stopped`);
}

describe("gpuhub usage view", { timeout: 180000 }, () => {
  let daemon, opened, origin, page, expected;

  before(async () => {
    daemon = new Daemon();
    await daemon.start();
    let r = await daemon.api("POST", "/environments", {
      name: "usage-lab", display_name: "Usage test lab", interface: "jupyter", default_gpus: 1, max_gpus: 2,
      launch: { local: { command: ["sleep", "infinity"], ready: "" } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    for (const [name, role] of [["alice", "user"], ["carol", "admin"]]) {
      r = await daemon.api("POST", "/users", { name, password: PASSWORD, role });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await holdAndStop(daemon, await tokenFor(daemon, "alice"), "a1", 1);
    await holdAndStop(daemon, await tokenFor(daemon, "carol"), "c1", 0.5);
    r = await daemon.api("GET", "/usage?group_by=day,user");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    expected = r.body;
    assert.deepEqual(expected.items.map((i) => i.user), ["alice", "carol"]);
    assert.ok(expected.items.every((i) => i.gpu_seconds > 0), JSON.stringify(expected));

    opened = await openBrowser(daemon, { acceptDownloads: true });
    ({ origin, page } = opened);
  });

  after(async () => closeAll(daemon, opened, "gpuhub-usage.log"));

  test("an admin sees the chart and the table of GPU-hours per user per day", async () => {
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(origin.base + "/");
    await signIn(page, "carol");
    const panel = page.locator("#usage-panel");
    await panel.getByRole("heading", { name: "Usage" }).waitFor();
    await waitFor(async () => (await panel.getAttribute("data-loaded")) !== null, "the usage to load");

    /* the table: one row per (day, user), with the API's numbers */
    const rows = page.locator("#usage-body tr");
    await waitFor(async () => (await rows.count()) === expected.items.length, "one table row per usage row");
    for (let i = 0; i < expected.items.length; i++) {
      const want = expected.items[i], row = rows.nth(i);
      assert.equal(await row.getAttribute("data-user"), want.user);
      assert.equal(await row.getAttribute("data-day"), want.day);
      assert.ok(Math.abs(Number(await row.getAttribute("data-gpu-seconds")) - want.gpu_seconds) < 1e-6);
      const cells = await row.locator("td").allTextContents();
      assert.equal(cells[0], want.day);
      assert.equal(cells[1], want.user);
      assert.ok(Math.abs(Number(cells[2]) - want.gpu_hours) <= Math.max(want.gpu_hours * 0.05, 0.005), cells.join(" "));
    }
    /* alice held one GPU, carol half of one, for about as long: alice's bar is the taller */
    const [a, c] = expected.items;
    assert.ok(a.gpu_seconds > c.gpu_seconds, JSON.stringify(expected.items));

    /* the chart: one bar segment per user on today's day, in the legend's colours */
    const bars = page.locator("#usage-chart svg rect.bar");
    assert.equal(await bars.count(), expected.items.length);
    const drawn = await bars.evaluateAll((rs) => rs.map((r) => ({
      user: r.getAttribute("data-user"), day: r.getAttribute("data-day"), h: Number(r.getAttribute("height")),
      fill: r.getAttribute("fill"), hours: Number(r.getAttribute("data-gpu-hours")) })));
    assert.deepEqual(drawn.map((d) => d.user).sort(), ["alice", "carol"]);
    const by = Object.fromEntries(drawn.map((d) => [d.user, d]));
    assert.equal(by.alice.day, a.day);
    assert.ok(by.alice.h > by.carol.h, JSON.stringify(drawn));
    assert.notEqual(by.alice.fill, by.carol.fill);
    assert.deepEqual(await page.locator("#usage-legend li").evaluateAll((ls) => ls.map((l) => l.getAttribute("data-user"))),
      ["alice", "carol"]);
    assert.match(await page.locator("#usage-chart svg").getAttribute("aria-label"), /GPU-hours per user per day/);
    assert.equal(await page.locator("#usage-empty").isVisible(), false);
    await page.locator("#usage-panel").scrollIntoViewIfNeeded();
    await screenshot(page, "usage-01-admin-view");
    /* the 401 of GET /me before signing in is expected; nothing else may fail */
    assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  });

  test("the CSV link downloads the same rows with a header", async () => {
    const link = page.getByRole("link", { name: "Download CSV" });
    assert.match(await link.getAttribute("href"), /format=csv/);
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    assert.match(download.suggestedFilename(), /^gpuhub-usage-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
    const file = await download.path();
    const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/);
    assert.equal(lines[0], "day,user,gpu_seconds,gpu_hours,session_seconds,session_hours");
    assert.deepEqual(lines.slice(1).map((l) => l.split(",").slice(0, 2).join(",")),
      expected.items.map((i) => `${i.day},${i.user}`));
    lines.slice(1).forEach((l, i) => assert.ok(Math.abs(Number(l.split(",")[2]) - expected.items[i].gpu_seconds) < 0.001, l));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.copyFileSync(file, path.join(ARTIFACTS, "usage-download.csv"));
  });

  test("a range without usage says so; a user who is not an admin gets no usage view", async () => {
    await page.getByLabel("From", { exact: true }).fill("2020-01-01");
    await page.getByLabel("To", { exact: true }).fill("2020-01-31");
    await page.getByRole("button", { name: "Show" }).click();
    await waitFor(async () => (await page.locator("#usage-panel").getAttribute("data-loaded")) === "2020-01-01..2020-01-31",
      "the empty range to load");
    await page.locator("#usage-empty").waitFor({ state: "visible" });
    assert.equal(await page.locator("#usage-body tr").count(), 0);
    assert.equal(await page.locator("#usage-chart svg rect.bar").count(), 0);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await signIn(page, "alice");
    await waitText(page.locator("#whoami"), /alice/, "alice signed in");
    assert.equal(await page.locator("#usage-panel").isVisible(), false);
    await screenshot(page, "usage-02-user-no-view");
  });
});
