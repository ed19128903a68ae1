/*
 * The web page, as a user sees it in Chromium: a wrong password is refused
 * with the hub's message; signing in shows the environments and the
 * (simulated) GPUs; launching on one GPU shows the progress until running;
 * the session is listed as running with its allocation and opens through the
 * hub's proxy; stopping gives the GPU back and ends the workspace; deleting
 * and signing out work. Screenshots go to build/browser-artifacts/.
 *
 * Run: GPUHUB_BIN=build/gpuhub node --test tests/browser/   (or make browser)
 */
"use strict";

const assert = require("node:assert/strict");
const { describe, before, after, test } = require("node:test");
const { Daemon, screenshot, waitFor, waitText } = require("./harness");
const { PASSWORD, WORKSPACE, openBrowser, closeAll, signIn, launch } = require("./helpers");

describe("gpuhub web page", { timeout: 180000 }, () => {
  let daemon, opened, origin, context, page;

  before(async () => {
    daemon = new Daemon();
    await daemon.start();
    let r = await daemon.api("POST", "/environments", {
      name: "browser-lab", display_name: "Browser test lab", interface: "jupyter",
      labels: { purpose: "browser-test" }, default_gpus: 1, max_gpus: 2,
      launch: { local: { command: ["/usr/bin/python3", WORKSPACE, daemon.runId] } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await daemon.api("POST", "/users", { name: "alice", password: PASSWORD, display_name: "Alice Liddell" });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    opened = await openBrowser(daemon);
    ({ origin, context, page } = opened);
    console.log(`# page served by ${origin.servedByDaemon ? "the daemon" : "the test's own server (web/ + proxy)"} at ${origin.base}`);
  });

  after(async () => closeAll(daemon, opened, "gpuhub.log"));

  test("the page carries its marker and loads without errors", async () => {
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    const res = await page.goto(origin.base + "/");
    assert.equal(res.status(), 200);
    assert.equal(await page.locator('meta[name="gpuhub-ui"]').count(), 1);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    /* the 401 of GET /me is expected; nothing else may fail */
    assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  });

  test("a wrong password shows the hub's error and no session", async () => {
    await signIn(page, "alice", "not-her-password");
    const msg = await waitText(page.locator("#signin-error"), /wrong user name or password/, "sign-in error");
    assert.ok(await page.locator("#signin-error").isVisible(), msg);
    assert.equal(await page.locator("#app").isVisible(), false);
    await screenshot(page, "00-wrong-password");
  });

  test("sign in, launch on one GPU, watch it run, open it, stop it", async () => {
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitText(page.locator("#whoami"), /Alice Liddell \(alice\)/, "the user's name");
    assert.equal(await page.locator("#signin-error").isVisible(), false);

    /* environments, with interface and labels */
    const env = page.locator('#envs-list li[data-env="browser-lab"]');
    await waitText(env, /Browser test lab/, "the environment list");
    const envText = await env.textContent();
    assert.match(envText, /jupyter/);
    assert.match(envText, /purpose browser-test/);

    /* GPU summary: two simulated A100s, nothing allocated */
    await page.locator("#gpus-simulated").waitFor({ state: "visible" });
    await waitFor(async () => (await page.locator("#gpus-body tr").count()) === 2, "two GPU rows");
    assert.match(await page.locator("#gpus-body").textContent(), /A100-80GB/);
    assert.deepEqual(await page.locator("#gpus-body .allocated").allTextContents(), ["0 / 1", "0 / 1"]);
    await screenshot(page, "01-signed-in");

    /* the launch form: GPU amounts follow the environment's max_gpus */
    await page.getByLabel("Environment", { exact: true }).selectOption("browser-lab");
    const choices = await page.getByLabel("GPUs", { exact: true }).locator("option").evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(choices, ["0", "0.25", "0.5", "1", "2"]);
    const models = await page.getByLabel("GPU model", { exact: true }).locator("option").evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(models, ["", "A100-80GB"]);

    /* a name the API refuses: its message is shown inline */
    await page.getByLabel("Session name").fill("Not A Name!");
    await page.getByRole("button", { name: "Launch" }).click();
    await waitText(page.locator("#launch-error"), /name/, "the API's validation error");

    await page.getByLabel("Session name").fill("lab");
    await page.getByLabel("GPUs", { exact: true }).selectOption("1");
    await page.getByRole("button", { name: "Launch" }).click();

    /* progress from the event stream, until running */
    const progress = page.locator('.progress-item[data-session="lab"]');
    await progress.waitFor();
    await waitText(progress.locator(".progress-percent"), /^100%$/, "progress 100%");
    await waitText(progress.locator(".progress-state"), /^running$/, "progress state running");
    assert.equal(await progress.locator("progress").evaluate((p) => p.value), 100);
    const log = await progress.locator(".progress-log li").allTextContents();
    assert.ok(log.some((l) => /GPUs allocated/.test(l)), JSON.stringify(log));
    assert.equal(await page.locator("#launch-error").isVisible(), false);

    /* listed as running with its allocation */
    const row = page.locator('#sessions-body tr[data-session="lab"]');
    await waitFor(async () => (await row.getAttribute("data-state")) === "running", "session row running");
    assert.equal(await row.locator(".gpus-cell").textContent(), "1");
    const details = await row.locator(".details").textContent();
    const m = /A100-80GB #(\d) \(1 GPU\)/.exec(details);
    assert.ok(m, details);
    const gpu = m[1];
    await waitFor(async () => (await page.locator(`#gpus-body tr[data-gpu="${gpu}"] .allocated`).textContent()) === "1 / 1",
      "the GPU summary shows the allocation");
    await screenshot(page, "02-running");

    /* Open: the workspace through the hub's proxy, in a new tab */
    const open = page.getByRole("link", { name: "Open lab" });
    assert.equal(await open.getAttribute("href"), "/user/alice/lab/");
    const [tab] = await Promise.all([context.waitForEvent("page"), open.click()]);
    await tab.waitForLoadState();
    await waitText(tab.locator("h1"), /Test workspace lab of alice/, "the workspace page");
    assert.equal(await tab.locator("#path").textContent(), "/user/alice/lab/");
    assert.equal(await tab.locator("#gpus").textContent(), `CUDA_VISIBLE_DEVICES=${gpu}`);
    await screenshot(tab, "03-workspace");
    await tab.close();

    /* a second session asking for both GPUs waits in the queue, with its
     * position shown; stopping it leaves the queue */
    await launch(page, "browser-lab", "big", "2");
    const big = page.locator('#sessions-body tr[data-session="big"]');
    await waitFor(async () => (await big.getAttribute("data-state")) === "queued", "session big queued");
    await waitText(big.locator(".details"), /position 1 in queue/, "the queue position");
    await waitText(page.locator('.progress-item[data-session="big"] .progress-state'), /^queued$/, "big's progress");
    assert.equal(await big.getByRole("link", { name: "Open big" }).count(), 0);
    await screenshot(page, "04-queued");
    await big.getByRole("button", { name: "Stop big" }).click();
    await waitFor(async () => (await big.getAttribute("data-state")) === "stopped", "session big stopped");
    await big.getByRole("button", { name: "Delete big" }).click();
    await waitFor(async () => (await big.count()) === 0, "big's row to go");
    await waitFor(async () => (await page.locator('.progress-item[data-session="big"]').count()) === 0, "big's progress to go");

    /* Stop: stopped, GPU back, workspace process gone */
    await row.getByRole("button", { name: "Stop lab" }).click();
    await waitFor(async () => (await row.getAttribute("data-state")) === "stopped", "session row stopped", 30000);
    assert.equal(await row.getByRole("link", { name: "Open lab" }).count(), 0);
    assert.equal(await row.locator(".details").textContent(), "");
    await waitFor(async () => JSON.stringify(await page.locator("#gpus-body .allocated").allTextContents()) ===
      JSON.stringify(["0 / 1", "0 / 1"]), "both GPUs free again");
    await waitFor(() => daemon.workspaces().length === 0, "the workspace process to end", 20000);
    assert.equal(await progress.locator(".progress-state").textContent(), "stopped");
    await screenshot(page, "05-stopped");

    /* Delete, then sign out: the cookie no longer works after a reload */
    await row.getByRole("button", { name: "Delete lab" }).click();
    await waitFor(async () => (await row.count()) === 0, "the row to go");
    await page.locator("#sessions-empty").waitFor({ state: "visible" });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.locator("#app").isVisible(), false);
    await screenshot(page, "06-signed-out");
  });
});
