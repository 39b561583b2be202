// Drives the streamq dashboard in Debian's Chromium, as a person would: the overview shows the
// seeded topic's counts, the topic page lists its dead letter, a requeue without the token is
// refused (the banner says why), one with the token entered in the page succeeds, and a POST
// the page makes without the token is refused 403. Takes screenshots at 1280x800.
//
//   node dashboard.test.mjs URL TOKEN SCREENSHOT_DIR EXPECT_JSON
//
// URL is the dashboard's page ("http://127.0.0.1:PORT/dashboard/"); EXPECT_JSON says what the
// server holds: {"topic", "group", "length", "groups", "dead_letters", "payload_text"}.
// test/dashboard/browser_test.cpp seeds Redis, serves the dashboard and runs this. Exit status
// 0 when every check held; 1 with the failed check on stderr otherwise.

import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [url, token, screenshotDir, expectJson] = process.argv.slice(2);
if (!url || !token || !screenshotDir || !expectJson) {
  console.error('usage: node dashboard.test.mjs URL TOKEN SCREENSHOT_DIR EXPECT_JSON');
  process.exit(2);
}
const expected = JSON.parse(expectJson);
const CHROMIUM = process.env.STREAMQ_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 15000;   // the longest any one wait may take
const CHART_POINTS = 4;  // throughput points drawn before the overview's screenshot (~8 s)
const WHOLE_MS = 120000;  // the whole run

let checks = 0;
function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  ++checks;
  console.log(`ok ${checks} - ${what}`);
}

// The text of the element `selector` names, once `predicate(text)` holds. Polled from here
// rather than in the page: the page's CSP (rightly) refuses the eval a serialized predicate
// would need.
async function waitForText(page, selector, predicate, what) {
  const text = () => page.$eval(selector, (n) => n.textContent.trim()).catch(() => null);
  return pollUntil(text, (t) => t !== null && predicate(t), `${what} (${selector})`);
}

// read() until accept(value) holds; its last value. Fails after STEP_MS.
async function pollUntil(read, accept, what) {
  const until = Date.now() + STEP_MS;
  let value;
  while (Date.now() < until) {
    value = await read();
    if (accept(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: still ${JSON.stringify(value)} after ${STEP_MS} ms`);
}

async function bannerText(page) {
  return page.$eval('#banner', (b) => (b.hidden ? '' : b.querySelector('#banner-text').textContent.trim()));
}

async function run(browser) {
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 800});
  const origin = new URL(url).origin;
  const problems = [];    // page errors, CSP refusals, console errors not expected
  let expectForbidden = 0;  // 403s a step provokes (the browser logs each as a console error)
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (expectForbidden > 0 && /status of 403/.test(m.text())) {
      --expectForbidden;
      return;
    }
    problems.push(`console error: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) {
      problems.push(`request off the dashboard's origin: ${r.url()}`);
    }
  });
  // window.confirm of the purge buttons: never expected in this run.
  page.on('dialog', (d) => {
    problems.push(`unexpected dialog: ${d.message()}`);
    d.dismiss();
  });

  // --- the overview ---
  const response = await page.goto(url, {waitUntil: 'load', timeout: STEP_MS});
  check(response.status() === 200, 'the page is served (200)');
  const csp = response.headers()['content-security-policy'] ?? '';
  check(/script-src 'self'/.test(csp), `the page carries a CSP (${csp})`);
  const row = `tr[data-topic="${expected.topic}"]`;  // topic names hold no quote (names.hpp)
  await waitForText(page, `${row} th a`, (t) => t.length > 0, 'topic row');
  for (const field of ['length', 'groups', 'dead_letters']) {
    const want = String(expected[field]);
    const got = await waitForText(page, `${row} td[data-field="${field}"]`, (t) => t === want,
      `overview ${field}`);
    check(got === want, `overview row: ${field} ${got}`);
  }
  // Every poll after the first adds a throughput point: wait for a few, so that the chart
  // draws a line (and the screenshot shows one).
  const longestLine = () => page.$$eval('.chart-box:first-child polyline.series',
    (lines) => Math.max(0, ...lines.map((l) => l.getAttribute('points').split(' ').length)));
  const points = await pollUntil(longestLine, (n) => n >= CHART_POINTS, 'throughput points');
  check(points >= CHART_POINTS, `the throughput chart draws a line of ${points} points`);
  await page.screenshot({path: path.join(screenshotDir, 'dashboard-overview.png')});

  // --- the topic page, reached through the link ---
  await page.click(`${row} th a`);
  await waitForText(page, '#topic-name', (t) => t.length > 0, 'topic page');
  check(await page.$eval('#topic-name', (n) => n.textContent) === expected.topic,
    'the topic page names the topic');
  const group = `article[data-group="${expected.group}"]`;
  await page.waitForSelector(`${group} tr[data-dead-letter]`, {timeout: STEP_MS});
  const letterIds = await page.$$eval(`${group} tr[data-dead-letter]`,
    (rows) => rows.map((r) => r.dataset.deadLetter));
  check(letterIds.length === expected.dead_letters,
    `the group lists ${expected.dead_letters} dead letter(s): ${letterIds.join(', ')}`);
  const letterRow = `${group} tr[data-dead-letter="${letterIds[0]}"]`;

  // A requeue without the token: refused, and the banner says so.
  const requeue = `${letterRow} button.action:not(.danger)`;
  expectForbidden += 1;
  await page.click(requeue);
  await page.waitForSelector('#banner:not([hidden])', {timeout: STEP_MS});
  const refused = await bannerText(page);
  check(/bad_token/.test(refused), `a requeue without the token shows the refusal: ${refused}`);
  check(await page.$(letterRow) !== null, 'the dead letter is still listed');

  // A POST made from the page without the token, and one with a wrong token: 403 both.
  expectForbidden += 2;
  const statuses = await page.evaluate(async (topic, group, id) => {
    const body = JSON.stringify({topic, group, id});
    const answers = [];
    for (const headers of [{'Content-Type': 'application/json'},
      {'Content-Type': 'application/json', 'X-Streamq-Token': 'not-the-token'}]) {
      const r = await fetch('api/dead-letters/requeue', {method: 'POST', headers, body});
      answers.push({status: r.status, body: await r.json()});
    }
    return answers;
  }, expected.topic, expected.group, letterIds[0]);
  check(statuses.every((s) => s.status === 403 && s.body.code === 'bad_token'),
    `POSTs without the token or with a wrong one are refused: ${JSON.stringify(statuses)}`);

  // The token, entered in the page: kept in sessionStorage only.
  await page.click('#banner-close');
  await page.type('#token', token);
  await page.click('#token-form button[type=submit]');
  await waitForText(page, '#token-state', (t) => t === 'token set', 'token state');
  const stored = await page.evaluate(() => ({session: Object.values(sessionStorage),
    local: Object.values(localStorage), cookie: document.cookie}));
  check(stored.session.includes(token) && !stored.local.includes(token) &&
    !stored.cookie.includes(token), 'the token is in sessionStorage only');
  check(!(await page.content()).includes(token), 'the token is nowhere in the page');
  await page.screenshot({path: path.join(screenshotDir, 'dashboard-topic.png')});

  // --- the message page of the dead letter's entry ---
  const entryLink = `${letterRow} td:nth-child(2) a`;
  await page.click(entryLink);
  const payload = await waitForText(page, '#payload', (t) => t.length > 0, 'payload');
  check(payload.includes(expected.payload_text),
    `the message page shows the payload (${payload.slice(0, 80)})`);
  check(await page.$('#payload.json') !== null, 'the payload is shown as JSON');
  await page.screenshot({path: path.join(screenshotDir, 'dashboard-message.png')});

  // --- back to the topic, and the requeue with the token ---
  await page.goBack();
  await page.waitForSelector(requeue, {timeout: STEP_MS});
  await page.click(requeue);
  const status = await waitForText(page, '#status', (t) => t.startsWith('Requeued'), 'status');
  check(/^Requeued dead letter .* as entry \d+-\d+\.$/.test(status), `requeued: ${status}`);
  check(await bannerText(page) === '', 'no error is shown after the requeue');
  await page.waitForFunction((s) => document.querySelector(s) === null, {timeout: STEP_MS},
    letterRow);
  check(true, 'the requeued dead letter is gone from the list');

  // --- the overview again: no dead letter left ---
  await page.click('nav a[data-route="topics"]');
  const left = await waitForText(page, `${row} td[data-field="dead_letters"]`,
    (t) => t === '0', 'overview dead letters after the requeue');
  check(left === '0', 'the overview counts no dead letter');

  check(problems.length === 0, `no page error, CSP refusal or stray request${
    problems.length ? ': ' + problems.join('; ') : ''}`);
}

const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  // CI runs as root: Chromium's sandbox needs a user namespace it may not have there.
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--no-first-run', '--no-default-browser-check', '--hide-scrollbars'],
});
const deadline = setTimeout(() => {
  console.error(`the run took longer than ${WHOLE_MS} ms`);
  process.exit(1);
}, WHOLE_MS);
let failed = false;
try {
  fs.mkdirSync(screenshotDir, {recursive: true});
  await run(browser);
  console.log(`${checks} passed, 0 failed`);
} catch (e) {
  failed = true;
  console.error(e.stack ?? String(e));
  console.log(`${checks} passed, 1 failed`);
} finally {
  clearTimeout(deadline);
  await browser.close();
}
process.exit(failed ? 1 : 0);
