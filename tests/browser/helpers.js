/*
 * Steps the browser tests share on top of the harness: opening a page in a
 * fresh browser, the teardown that saves the daemon's log and checks that no
 * workspace is left, and the sign-in and launch forms as a user fills them.
 */
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { ARTIFACTS, pageOrigin, launchBrowser } = require("./harness");

const PASSWORD = "correct-horse-battery-staple";
/* a small web server that stands in for a notebook (see workspace_page.py) */
const WORKSPACE = path.join(__dirname, "workspace_page.py");

/* Finds the page for daemon and opens it in a new browser; returns
 * { origin, browser, context, page }. contextOptions add to the viewport. */
async function openBrowser(daemon, contextOptions = {}) {
  const origin = await pageOrigin(daemon);
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, ...contextOptions });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (e) => console.log(`# page error: ${e.message}`));
  return { origin, browser, context, page };
}

/* Closes what openBrowser opened and ends daemon, keeping its log as
 * logName under the artifacts; fails if a workspace is still running.
 * Any of them may be undefined (a before() that failed early). */
async function closeAll(daemon, opened, logName) {
  try {
    if (opened && opened.browser) await opened.browser.close();
  } finally {
    if (opened && opened.origin) await opened.origin.close();
    if (daemon) {
      await daemon.kill();
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      fs.writeFileSync(path.join(ARTIFACTS, logName), daemon.log());
      assert.deepEqual(daemon.workspaces(), [], "workspaces left running after the test");
      fs.rmSync(daemon.dir, { recursive: true, force: true });
    }
  }
}

/* Fills the sign-in form and submits it. */
async function signIn(page, name, password = PASSWORD) {
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/* Fills the launch form and submits it. */
async function launch(page, env, name, gpus) {
  await page.getByLabel("Environment", { exact: true }).selectOption(env);
  await page.getByLabel("Session name").fill(name);
  await page.getByLabel("GPUs", { exact: true }).selectOption(gpus);
  await page.getByRole("button", { name: "Launch" }).click();
}

module.exports = { PASSWORD, WORKSPACE, openBrowser, closeAll, signIn, launch };
