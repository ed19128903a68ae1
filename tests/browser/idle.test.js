/*
 * Idle sessions in the browser: with a short idle policy on an environment,
 * a launched session nobody uses shows the idle banner, is suspended (the
 * row offers Resume), and opening its URL shows the wake page, which follows
 * the session until it runs and then loads the workspace. Screenshots go to
 * build/browser-artifacts/.
 *
 * Run: GPUHUB_BIN=build/gpuhub node --test tests/browser/   (or make browser)
 */
"use strict";

const assert = require("node:assert/strict");
const { describe, before, after, test } = require("node:test");
const { Daemon, screenshot, waitFor, waitText } = require("./harness");
const { PASSWORD, WORKSPACE, openBrowser, closeAll, signIn, launch } = require("./helpers");

describe("idle sessions in the web page", { timeout: 180000 }, () => {
  let daemon, opened, origin, context, page;

  before(async () => {
    daemon = new Daemon();
    await daemon.start();
    let r = await daemon.api("POST", "/environments", {
      name: "idle-lab", display_name: "Idle test lab", interface: "jupyter", default_gpus: 1, max_gpus: 1,
      launch: { local: { command: ["/usr/bin/python3", WORKSPACE, daemon.runId] } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await daemon.api("PUT", "/environments/idle-lab/idle", { full_idle_s: 10, warn_s: 8, gpu_idle_s: 0 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await daemon.api("POST", "/users", { name: "ida", password: PASSWORD });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    opened = await openBrowser(daemon);
    ({ origin, context, page } = opened);
  });

  after(async () => closeAll(daemon, opened, "gpuhub-idle.log"));

  test("banner, suspend, and the wake page into the workspace", async () => {
    await page.goto(origin.base + "/");
    await signIn(page, "ida");
    await page.locator("#app").waitFor({ state: "visible" });
    await launch(page, "idle-lab", "nap", "1");

    const row = page.locator('#sessions-body tr[data-session="nap"]');
    /* running (it may already be warned by the time the list refreshes) */
    await waitFor(async () => ["running", "idle-warned"].includes(await row.getAttribute("data-state")),
      "session running", 30000);

    /* nobody uses it: the banner warns first */
    const banner = page.locator('#idle-banner p[data-session="nap"]');
    await waitText(banner, /nap is idle \(full-idle\) and will be suspended/, "the idle banner", 30000);
    assert.equal(await page.locator("#idle-banner").getAttribute("role"), "alert");
    await screenshot(page, "idle-01-warned");

    /* then it is suspended: GPU back, Resume offered, banner gone */
    await waitFor(async () => (await row.getAttribute("data-state")) === "suspended", "session suspended", 30000);
    assert.equal(await row.getByRole("button", { name: "Resume nap" }).count(), 1);
    assert.equal(await row.getByRole("link", { name: "Open nap" }).count(), 0);
    await waitFor(async () => !(await page.locator("#idle-banner").isVisible()), "the banner to go");
    assert.match(await row.locator(".details").textContent(), /idle \(full-idle/);
    await screenshot(page, "idle-02-suspended");

    /* opening its URL wakes it: the wake page, then the workspace itself */
    const tab = await context.newPage();
    await tab.goto(origin.base + "/user/ida/nap/");
    await waitText(tab.locator("h1"), /Test workspace nap of ida/, "the workspace after the wake page", 30000);
    assert.equal(await tab.locator("#path").textContent(), "/user/ida/nap/");
    await screenshot(tab, "idle-03-woken");
    await tab.close();
    await waitFor(async () => (await row.getAttribute("data-state")) === "running" ||
      (await row.getAttribute("data-state")) === "idle-warned", "session running again", 30000);

    /* the wake page itself, caught while a suspended session wakes */
    await row.getByRole("button", { name: "Suspend nap" }).click();
    await waitFor(async () => (await row.getAttribute("data-state")) === "suspended", "suspended by hand", 30000);
    /* what a browser gets first: the wake page (asked with the tab's cookie) */
    const res = await context.request.get(origin.base + "/user/ida/nap/", { headers: { Accept: "text/html" } });
    assert.equal(res.status(), 503);
    const body = await res.text();
    assert.match(body, /<p id=status class=wake-status>waking up/);
    assert.match(body, /kernel memory/);
    const tab2 = await context.newPage();
    await tab2.goto(origin.base + "/user/ida/nap/");
    await waitText(tab2.locator("h1"), /Test workspace nap of ida/, "the workspace again", 30000);
    await tab2.close();

    await row.getByRole("button", { name: "Stop nap" }).click();
    await waitFor(async () => (await row.getAttribute("data-state")) === "stopped", "stopped", 30000);
    await waitFor(() => daemon.workspaces().length === 0, "the workspace process to end", 20000);
  });
});
