/*
 * A real Jupyter notebook in the browser, with the default catalog: the
 * user launches jupyter-python on one GPU, and the page says the session
 * holds no GPU until a kernel runs; in Jupyter they create a notebook (the
 * only Python kernel offered is the one whose GPUs follow it) and run a
 * cell, which prints the GPU the kernel got — the one the hub's page now
 * shows as held by a running kernel; stopping the session frees it.
 * Screenshots go to build/browser-artifacts/.
 *
 * Run: GPUHUB_BIN=build/gpuhub node --test tests/browser/   (or make browser)
 */
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { describe, before, after, test } = require("node:test");
const { ARTIFACTS, Daemon, pageOrigin, launchBrowser, screenshot, waitFor, waitText } = require("./harness");

const PASSWORD = "correct-horse-battery-staple";

function haveJupyter() {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import jupyter_server, notebook, ipykernel"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("a Jupyter notebook whose GPU follows the kernel", { timeout: 240000, skip: !haveJupyter() && "Jupyter is not installed" }, () => {
  let daemon, origin, browser, context, page;

  before(async () => {
    daemon = new Daemon();
    await daemon.start();
    const r = await daemon.api("POST", "/users", { name: "nina", password: PASSWORD });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    origin = await pageOrigin(daemon);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(30000);
    page.on("pageerror", (e) => console.log(`# page error: ${e.message}`));
  });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      if (origin) await origin.close();
      if (daemon) {
        await daemon.kill();
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        fs.writeFileSync(path.join(ARTIFACTS, "gpuhub-jupyter.log"), daemon.log());
        assert.deepEqual(daemon.workspaces(), [], "workspaces left running after the test");
        fs.rmSync(daemon.dir, { recursive: true, force: true });
      }
    }
  });

  test("launch, open Jupyter, run a cell: the kernel gets the GPU; stop frees it", async () => {
    await page.goto(origin.base + "/");
    await page.getByLabel("Username").fill("nina");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#app").waitFor({ state: "visible" });
    await waitText(page.locator('#envs-list li[data-env="jupyter-python"]'), /held only while a notebook's kernel runs/,
      "the environment's GPU mode");
    await page.getByLabel("Environment", { exact: true }).selectOption("jupyter-python");
    await page.getByLabel("Session name").fill("nb");
    await page.getByLabel("GPUs", { exact: true }).selectOption("1");
    await page.getByRole("button", { name: "Launch" }).click();

    /* running, and the page says it holds no GPU until a kernel runs */
    const row = page.locator('#sessions-body tr[data-session="nb"]');
    await waitFor(async () => (await row.getAttribute("data-state")) === "running", "session running", 90000);
    assert.equal(await row.locator(".gpus-cell").textContent(), "1 per kernel");
    await waitText(row.locator(".details"), /no GPU held: GPUs come when a kernel runs/, "no GPU held");
    assert.deepEqual(await page.locator("#gpus-body .allocated").allTextContents(), ["0 / 1", "0 / 1"]);
    const log = await page.locator('.progress-item[data-session="nb"] .progress-log li').allTextContents();
    assert.ok(log.some((l) => /starting with no GPU: its kernels get the GPUs while they run/.test(l)), JSON.stringify(log));
    await screenshot(page, "jupyter-01-running-no-gpu");

    /* Jupyter through the hub: a new notebook offers one Python kernel */
    const [tab] = await Promise.all([context.waitForEvent("page"), row.getByRole("link", { name: "Open nb" }).click()]);
    await tab.waitForLoadState();
    /* straight to the daemon (the login cookie holds for any port of the
     * host): the kernel's WebSocket goes through the hub's proxy */
    await tab.goto(daemon.url + "/user/nina/nb/tree");
    await tab.locator("#new-dropdown-button").click();
    const kernels = tab.locator("#new-menu li[id^='kernel-']");
    await waitFor(async () => (await kernels.count()) > 0, "the kernel menu");
    assert.deepEqual(await kernels.allTextContents(), ["Python 3 (GPUs while it runs)"]);
    const [nbTab] = await Promise.all([context.waitForEvent("page"), kernels.first().locator("a").click()]);
    /* the tree page points the new tab at the notebook once it exists */
    await nbTab.waitForURL(/\/user\/nina\/nb\/notebooks\/Untitled.*\.ipynb/);
    await nbTab.waitForLoadState();
    await tab.close();
    nbTab.setDefaultTimeout(60000);
    try {
      await nbTab.locator("#kernel_indicator_icon.kernel_idle_icon").waitFor({ state: "attached" });
    } catch (e) {
      await screenshot(nbTab, "jupyter-02-no-kernel");
      console.log(`# notebook tab at ${nbTab.url()}: ${(await nbTab.content()).slice(0, 400)}`);
      throw e;
    }

    /* run a cell */
    await nbTab.locator(".cell .CodeMirror").first().click();
    await nbTab.keyboard.type("import os; print('cvd=' + os.environ['CUDA_VISIBLE_DEVICES'])");
    await nbTab.keyboard.press("Shift+Enter");
    const printed = await waitText(nbTab.locator(".output_area pre").first(), /cvd=\d/, "the cell's output", 60000);
    const gpu = /cvd=(\d)/.exec(printed)[1];
    await screenshot(nbTab, "jupyter-02-cell-ran");

    /* the hub's page: the GPU the kernel printed, held by a running kernel */
    await waitText(row.locator(".details"), new RegExp(`A100-80GB #${gpu} \\(1 GPU\\).*GPUs held by 1 running kernel`),
      "the kernel's allocation", 30000);
    await screenshot(page, "jupyter-03-kernel-holds-gpu");
    await nbTab.close();

    /* stop: the GPU is free, the workspace gone */
    await row.getByRole("button", { name: "Stop nb" }).click();
    await waitFor(async () => (await row.getAttribute("data-state")) === "stopped", "session stopped", 60000);
    await waitFor(async () => JSON.stringify(await page.locator("#gpus-body .allocated").allTextContents()) ===
      JSON.stringify(["0 / 1", "0 / 1"]), "both GPUs free again");
    await waitFor(() => daemon.workspaces().length === 0, "the workspace processes to end", 30000);
  });
});
