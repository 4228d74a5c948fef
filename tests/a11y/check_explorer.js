#!/usr/bin/env node
// Open the LA explorer in headless Chromium (playwright-core, the system Chromium), offline: every request
// that is not the page itself (file:) or a blob: of its own is recorded and refused. At 1280 and 320 CSS px:
// axe-core (WCAG 2.0/2.1/2.2 A and AA), page-wide horizontal overflow, then LAs picked with the keyboard
// (focus the select, ArrowDown) and by value, recording what the page then shows. Prints one JSON object.
//
//   node tests/a11y/check_explorer.js --html PAGE --out DIR --modules .cache/node/node_modules \
//        [--chromium PATH] [--pick CODE,CODE]
//
// Exit status: 0 when the checks ran, 3 when Chromium could not be started, 2 on bad usage, 1 otherwise.
'use strict';

const path = require('path');
const fs = require('fs');
const { pathToFileURL } = require('url');

const opts = {};
for (let i = 2; i < process.argv.length; i += 2) opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const key of ['html', 'out', 'modules']) {
  if (!opts[key]) { console.error(`missing --${key}`); process.exit(2); }
}
const { chromium } = require(path.join(path.resolve(opts.modules), 'playwright-core'));
const axeSource = fs.readFileSync(path.join(path.resolve(opts.modules), 'axe-core', 'axe.min.js'), 'utf8');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'narrow-320', width: 320, height: 640 },
];
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

// Runs in the page: what a user sees for the LA now shown.
function shownNow() {
  const sel = document.getElementById('la');
  const sections = [...document.querySelectorAll('#content section')];
  const first = sections[0];
  const firstRow = first ? [...first.querySelectorAll('tbody tr')][0] : null;
  const vw = window.innerWidth;
  const overflowing = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1) continue;
    let clipped = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') { clipped = true; break; }
    }
    if (!clipped) overflowing.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''));
    if (overflowing.length >= 10) break;
  }
  return {
    selected: sel.value,
    selectedName: sel.options[sel.selectedIndex].textContent,
    options: sel.options.length,
    focused: document.activeElement ? document.activeElement.id : null,
    status: document.getElementById('status').textContent,
    sections: sections.length,
    charts: document.querySelectorAll('#content svg[role="img"][aria-label]').length,
    tables: document.querySelectorAll('#content table').length,
    firstRow: firstRow ? [...firstRow.children].map((c) => c.textContent) : [],
    downloads: [...document.querySelectorAll('a.download')].map((a) => ({ href: a.href.slice(0, 5), file: a.download })),
    suppressedShown: document.body.textContent.includes('[c] suppressed'),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: vw,
    overflowing,
  };
}

(async () => {
  fs.mkdirSync(path.resolve(opts.out), { recursive: true });
  let browser;
  try {
    browser = await chromium.launch({ executablePath: opts.chromium || '/usr/bin/chromium', headless: true,
      args: FLAGS, timeout: 60000 });
  } catch (err) {
    console.error(`Chromium could not be started: ${String(err && err.message || err).split('\n')[0]}`);
    process.exit(3);
  }
  const report = { browser: browser.version(), viewports: [] };
  const picks = (opts.pick || '').split(',').filter(Boolean);
  try {
    for (const vp of VIEWPORTS) {
      const context = await browser.newContext({ viewport: { width: vp.width, height: vp.height }, locale: 'en-GB' });
      const page = await context.newPage();
      const remote = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
        remote.push(url);
        return route.abort();
      });
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e.message || e)));
      await page.goto(pathToFileURL(path.resolve(opts.html)).href, { waitUntil: 'load', timeout: 120000 });
      const initial = await page.evaluate(shownNow);
      await page.addScriptTag({ content: axeSource });
      const axe = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'] }), WCAG_TAGS);
      await page.screenshot({ path: path.join(path.resolve(opts.out), `explorer-${vp.name}.png`), fullPage: false });
      // the keyboard: Tab to the select (after the skip link), then ArrowDown picks the next LA
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.press('ArrowDown');
      await page.waitForTimeout(200);
      const byKeyboard = await page.evaluate(shownNow);
      const picked = [];
      for (const code of picks) {
        await page.selectOption('#la', code);
        await page.waitForTimeout(100);
        picked.push(await page.evaluate(shownNow));
      }
      const after = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'] }), WCAG_TAGS);
      report.viewports.push({
        ...vp,
        violations: [...axe.violations, ...after.violations].map((v) => ({ id: v.id, impact: v.impact,
          help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.map(String).join(' ')) })),
        remote, errors, initial, byKeyboard, picked,
      });
      await context.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report, null, 1) + '\n');
})().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
