// Drives the dashboard in Debian's Chromium with playwright-core, for query/tests/serve_browser.rs.
//
// Usage: node dashboard.cjs BASE_URL LIGHT_PNG DARK_PNG
// Reads one JSON line on stdin per phase ({"phase", "total", "lang", "hashtag", "newest",
// "hostile"}: what the dashboard must show, worked out by the test from the raw posts), checks
// the page against it and against the API, and prints "ok PHASE". Phase 1 is the first load;
// later phases come after the test stored new posts: the page must show them without being
// reloaded. Any console error, page error, failed request or answer >= 400 fails the run.
'use strict';

const readline = require('node:readline');
const { chromium } = require('playwright-core');

const [base, lightPng, darkPng] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 30_000;
const log = (message) => console.error(`${new Date().toISOString()} ${message}`);

const problems = [];
const fail = (message) => {
  throw new Error(message);
};
const assertEqual = (got, want, what) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    fail(`${what}: the page shows ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
};
const number = (text) => Number(String(text).replace(/,/g, ''));

async function api(path) {
  const response = await fetch(base + path);
  if (!response.ok) fail(`${path}: ${response.status}`);
  return response.json();
}

async function breakdown(page, id) {
  return page.$$eval(`#${id} li[data-key]`, (items) =>
    items.map((li) => [li.dataset.key, li.querySelector('.n').textContent]));
}

// The rows of a breakdown against the expected counts: every named row exact, and the
// "N others" row holding what the named ones do not.
function checkBreakdown(rows, expected, total, what) {
  if (!rows.length) fail(`${what}: no rows`);
  let named = 0;
  for (const [key, n] of rows) {
    if (/^\d+ others?$/.test(key)) continue;
    assertEqual(number(n), expected[key], `${what} ${key}`);
    named += number(n);
  }
  const others = rows.find(([key]) => /^\d+ others?$/.test(key));
  const rest = total - named;
  if (others) assertEqual(number(others[1]), rest, `${what} others`);
  else assertEqual(rest, 0, `${what}: rows missing`);
}

async function check(page, want) {
  // Wait until the page shows the new total: it refreshes by itself.
  await page.waitForFunction(
    (total) => document.getElementById('total').textContent.replace(/,/g, '') === String(total),
    want.total,
    { timeout: TIMEOUT_MS },
  ).catch(async () => fail(`total: the page shows ${await page.textContent('#total')}, expected ${want.total}`));
  // And that one refresh has been drawn in full.
  await page.waitForFunction(() => !document.getElementById('error').textContent, null, { timeout: TIMEOUT_MS });

  const keyword = await page.inputValue('#keyword');
  assertEqual(keyword, 'live', 'keyword');
  const rate = await api('/api/rate?keyword=live&since=60m');
  assertEqual(rate.posts, want.total, 'the API\'s total');
  assertEqual(number(await page.textContent('#total')), rate.posts, 'total against the API');
  const bars = await page.$$eval('#chart .slot', (slots) => slots.length);
  assertEqual(bars, rate.per_minute.length, 'one bar per minute of the hour');

  const lang = await breakdown(page, 'by-lang');
  checkBreakdown(lang, want.lang, want.total, 'languages');
  const langApi = await api(`/api/stats?keyword=live&by=lang&since=${rate.since}&until=${rate.until}`);
  assertEqual(lang.slice(0, 3).map(([k, n]) => [k, number(n)]),
    langApi.buckets.slice(0, 3).map((b) => [b.key, b.posts]), 'languages against the API');
  const tags = await breakdown(page, 'by-hashtag');
  checkBreakdown(tags, want.hashtag, want.hashtag_total, 'hashtags');

  const ids = await page.$$eval('#latest li[data-id]', (items) => items.map((li) => li.dataset.id));
  const latest = await api('/api/posts?keyword=live&count=20');
  assertEqual(ids, latest.map((p) => p.id), 'latest posts against the API');
  assertEqual(ids[0], want.newest, 'the newest post');

  // Stored text is shown as text, never run as markup.
  const hostile = await page.$eval(`#latest li[data-id="${want.hostile.id}"] .text`, (p) => ({
    text: p.textContent,
    elements: p.children.length,
  }));
  assertEqual(hostile, { text: want.hostile.text, elements: 0 }, 'a post with markup in its text');
  const links = await page.$$eval('#latest a', (as) => as.map((a) => a.href));
  if (!links.length || !links.every((href) => href.startsWith('https:'))) fail(`post links: ${links}`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`); });
    log('browser up');
    await page.goto(`${base}/`, { waitUntil: 'load' });
    log('page loaded');
    await page.waitForFunction(() => Number(document.body.dataset.refreshed) >= 1, null, { timeout: TIMEOUT_MS });
    // Marks this document: a reload would lose the mark.
    await page.evaluate(() => { window.loadedOnce = true; });

    // The keyboard reaches every control, in order, and the button refreshes.
    const focused = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => document.activeElement.id));
    }
    assertEqual(focused, ['keyword', 'window', 'refresh'], 'tab order');
    const before = await page.evaluate(() => Number(document.body.dataset.refreshed));
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => Number(document.body.dataset.refreshed) > n, before, { timeout: TIMEOUT_MS });

    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
      if (!line.trim()) continue;
      const want = JSON.parse(line);
      log(`phase ${want.phase}`);
      await check(page, want);
      if (!(await page.evaluate(() => window.loadedOnce === true))) fail('the page was reloaded');
      if (problems.length) fail(problems.join('\n'));
      console.log(`ok ${want.phase}`);
      if (want.last) break;
    }
    lines.close();
    process.stdin.destroy();

    // The README's picture: without the focus ring the keyboard test left.
    await page.evaluate(() => document.activeElement.blur());
    await page.screenshot({ path: lightPng });
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (light === dark) fail(`the dark scheme changes nothing (${light})`);
    await page.screenshot({ path: darkPng });
    if (problems.length) fail(problems.join('\n'));
    console.log('done');
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
