#!/usr/bin/env node
// Open one HTML file in headless Chromium (through playwright-core, never a downloaded browser),
// run axe-core at a desktop and a 320 CSS px viewport, collect the facts tests/test_accessibility.py
// asserts on, save full-page screenshots, and print one JSON object on stdout.
//
//   node tests/a11y/check_page.js --html report.html --out DIR \
//        --modules .cache/node/node_modules --chromium /usr/bin/chromium
//
// Exit status: 0 when the checks ran (whatever they found), 3 when Chromium could not be started,
// 2 on bad usage, 1 on any other error (the message is on stderr). Timings go to stderr.
'use strict';

const path = require('path');
const fs = require('fs');
const { pathToFileURL } = require('url');

function args(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
      console.error(`usage: node check_page.js --html FILE --out DIR --modules DIR [--chromium PATH]`);
      process.exit(2);
    }
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const key of ['html', 'out', 'modules']) {
    if (!out[key]) { console.error(`missing --${key}`); process.exit(2); }
  }
  return out;
}

const opts = args(process.argv);
const { chromium } = require(path.join(path.resolve(opts.modules), 'playwright-core'));
const axeSource = fs.readFileSync(
  path.join(path.resolve(opts.modules), 'axe-core', 'axe.min.js'), 'utf8');

// WCAG 2.0/2.1/2.2 A and AA; best practice is run separately and only reported.
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'narrow-320', width: 320, height: 640 },
];
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',  // containers often have a small /dev/shm
];

function summarise(results) {
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({
      target: n.target.map(String).join(' '),
      summary: (n.failureSummary || '').replace(/\s+/g, ' ').trim(),
      html: n.html.slice(0, 200),
    })),
  }));
}

// Runs in the page: structural facts the test asserts on.
function pageFacts() {
  const root = document.documentElement;
  const vw = window.innerWidth;
  const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    else if (el.className && typeof el.className === 'string') s += '.' + el.className.trim().split(/\s+/).join('.');
    return s;
  };
  // Elements that stick out past the viewport's right edge, unless a scrolling ancestor holds them.
  const overflowing = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1) continue;
    let clipped = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') { clipped = true; break; }
    }
    if (!clipped) overflowing.push(`${describe(el)} (right edge ${Math.round(r.right)}px)`);
    if (overflowing.length >= 20) break;
  }
  const tables = [...document.querySelectorAll('table')].map((t) => {
    const wrap = t.parentElement;
    const ths = [...t.querySelectorAll('th')];
    return {
      id: t.id,
      caption: text(t.querySelector(':scope > caption')),
      th: ths.length,
      thWithoutScope: ths.filter((th) => !['col', 'row', 'colgroup', 'rowgroup'].includes(th.getAttribute('scope'))).length,
      theadTh: t.querySelectorAll('thead th').length,
      wrapper: wrap ? {
        tag: wrap.tagName.toLowerCase(),
        role: wrap.getAttribute('role'),
        tabindex: wrap.getAttribute('tabindex'),
        label: wrap.getAttribute('aria-label') || text(document.getElementById(wrap.getAttribute('aria-labelledby') || '\u0000')),
        overflowX: getComputedStyle(wrap).overflowX,
      } : null,
      scrolls: wrap ? wrap.scrollWidth > wrap.clientWidth + 1 : false,
    };
  });
  const images = [...document.querySelectorAll('img')].map((img) => ({
    alt: img.getAttribute('alt'),
    src: (img.getAttribute('src') || '').slice(0, 60),
    width: Math.round(img.getBoundingClientRect().width),
  }));
  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => ({
    level: Number(h.tagName[1]),
    text: text(h).slice(0, 80),
  }));
  return {
    lang: root.getAttribute('lang'),
    title: document.title,
    scrollWidth: root.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    innerWidth: vw,
    scrollHeight: root.scrollHeight,
    overflowing,
    tables,
    images,
    headings,
    landmarks: {
      main: document.querySelectorAll('main, [role="main"]').length,
      nav: document.querySelectorAll('nav, [role="navigation"]').length,
    },
  };
}

let last = Date.now();
function lap(what) {
  const now = Date.now();
  console.error(`[check_page] ${what} ${((now - last) / 1000).toFixed(1)} s`);
  last = now;
}

(async () => {
  const outDir = path.resolve(opts.out);
  fs.mkdirSync(outDir, { recursive: true });
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: opts.chromium || '/usr/bin/chromium',
      headless: true,
      args: FLAGS,
      timeout: 60000,
    });
  } catch (err) {
    console.error(`Chromium could not be started: ${String(err && err.message || err).split('\n')[0]}`);
    process.exit(3);
  }
  lap('browser started');
  const report = { browser: browser.version(), viewports: [] };
  try {
    for (const vp of VIEWPORTS) {
      const context = await browser.newContext({
        viewport: { width: vp.width, height: vp.height }, deviceScaleFactor: 1, locale: 'en-GB',
        reducedMotion: 'reduce',
      });
      const page = await context.newPage();
      await page.goto(pathToFileURL(path.resolve(opts.html)).href, { waitUntil: 'load', timeout: 120000 });
      await page.addScriptTag({ content: axeSource });
      lap(`${vp.name}: loaded`);
      // One axe run for both: WCAG rules fail the test, best-practice rules are only reported.
      const results = await page.evaluate(
        (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
        [...WCAG_TAGS, 'best-practice']);
      const isWcag = (v) => v.tags.some((t) => WCAG_TAGS.includes(t));
      const wcag = { violations: results.violations.filter(isWcag) };
      const best = { violations: results.violations.filter((v) => !isWcag(v)) };
      lap(`${vp.name}: axe`);
      const facts = await page.evaluate(pageFacts);
      lap(`${vp.name}: facts`);
      const screenshot = path.join(outDir, `report-${vp.name}-${vp.width}px.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      lap(`${vp.name}: screenshot`);
      report.viewports.push({
        ...vp,
        axeVersion: results.testEngine.version,
        violations: summarise(wcag),
        bestPractice: summarise(best),
        facts,
        screenshot,
      });
      await context.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report, null, 1) + '\n');
})().catch((err) => {
  console.error(String(err && err.stack || err));
  process.exit(1);
});
