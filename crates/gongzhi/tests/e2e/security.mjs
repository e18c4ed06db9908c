// The stored-XSS attack of issue 13 in a real browser (Debian's Chromium, playwright-core): an
// admin scoped to one street renames a grid, its community and its street to markup that would
// run script; the district admin then hovers them on the dashboard and the admin maps, and
// opens the pages that name them. No script runs, no request is made, no admin is created, the
// tooltips and pages show the names as text, and no page reports a CSP violation.
//
// Usage: GONGZHI_BIN=target/debug/gongzhi node crates/gongzhi/tests/e2e/security.mjs

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { watchCsp, assertNoCspViolations, violations } from './csp.mjs';

const BIN = process.env.GONGZHI_BIN || 'target/debug/gongzhi';
const PORT = 20000 + Math.floor(Math.random() * 2000);
const BASE = `http://127.0.0.1:${PORT}`;

const STREET = '110101001';
const COMMUNITY = '110101001001';
const GRID = '110101001001001';
// What the tester planted, kept under the 100-character name limit: it has no control
// characters, so it is a legal name — it must stay text.
const PAYLOADS = {
  [GRID]: `G1 <img src=x onerror="window.__pwned=1;fetch('/admin/users',{method:'POST'})">`,
  [COMMUNITY]: `C1 <svg onload="window.__pwned=2"> "quoted" & 'single'`,
  [STREET]: `S1 </span><script>window.__pwned=3</script><b>bold</b>`,
};

const dataDir = mkdtempSync(path.join(tmpdir(), 'gongzhi-e2e-security-'));
const server = spawn(BIN, ['--data-dir', dataDir, 'demo', '--listen', `127.0.0.1:${PORT}`], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, GONGZHI_DATABASE_URL: '' },
});
let serverLog = '';
server.stdout.on('data', (d) => (serverLog += d));
server.stderr.on('data', (d) => (serverLog += d));

async function waitUp() {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(`${BASE}/healthz`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the demo did not start:\n' + serverLog);
}

async function api(method, url, token, body, type = 'application/json') {
  const r = await fetch(`${BASE}${url}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': type } : {}) },
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: r.status, body: json };
}

async function token(username, password) {
  const r = await api('POST', '/api/v1/auth/token', null, { username, password });
  assert.equal(r.status, 200, `sign in as ${username}`);
  return r.body.token;
}

async function areaName(t, code) {
  const b = (await api('GET', `/api/v1/areas/${code}`, t)).body;
  return b.name ?? b.area?.name;
}

function csvField(s) {
  return `"${s.replace(/"/g, '""')}"`;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });

/** A signed-in page whose every request, dialog and CSP violation is recorded. */
async function signIn(user, password) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  await watchCsp(ctx);
  // Test instrumentation, not page script: remember every Leaflet map so a test can hover a
  // grid by its code (the maps draw on a canvas).
  await ctx.addInitScript(() => {
    let L;
    Object.defineProperty(window, 'L', {
      configurable: true,
      get: () => L,
      set: (v) => {
        L = v;
        if (v && v.Map && !v.__gzHooked) {
          v.__gzHooked = true;
          v.Map.addInitHook(function () { (window.__gzMaps = window.__gzMaps || []).push(this); });
        }
      },
    });
  });
  const page = await ctx.newPage();
  const seen = { posts: [], dialogs: 0 };
  page.on('request', (r) => { if (r.method() !== 'GET') seen.posts.push(r.url()); });
  page.on('dialog', (d) => { seen.dialogs += 1; d.dismiss(); });
  await page.goto(`${BASE}/login`);
  await page.getByLabel('用户名').fill(user);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForLoadState('load');
  assert.ok(!page.url().includes('/login'), `${user} signed in`);
  seen.posts.length = 0;
  return { page, seen };
}

/** Hovers grid `code` on the map in `#mapId` at the map's `level`; answers the tooltip's text and
 * how many elements of the planted markup it holds (none: the name is a text node). */
async function hover(page, mapId, level, code) {
  await page.locator(`#${mapId}[data-ready]`).waitFor({ timeout: 30000 });
  await page.locator(`#${mapId}`).scrollIntoViewIfNeeded();
  if (await page.locator('#map-level').count()) {
    await page.locator('#map-level').selectOption(String(level));
  }
  const at = await page.evaluate(async ({ mapId, code }) => {
    const map = (window.__gzMaps || []).find((m) => m.getContainer().id === mapId);
    // A zoom still gliding would put its own view back when it ends, over the one set here.
    for (let i = 0; i < 100 && map._animatingZoom; i++) await new Promise((r) => setTimeout(r, 50));
    let layer = null;
    map.eachLayer((l) => { if (l.feature && l.feature.properties.code === code && l.getLatLngs) layer = l; });
    if (!layer) return null;
    // The map may have been laid out after Leaflet measured it (a tab, a late stylesheet).
    map.invalidateSize({ animate: false });
    map.fitBounds(layer.getBounds(), { animate: false, maxZoom: 17 });
    // A point truly inside the polygon: its centre, or a vertex pulled towards it.
    const c = layer.getBounds().getCenter();
    const ring = layer.getLatLngs().flat(3);
    const candidates = [layer.getCenter ? layer.getCenter() : c, ...ring.map((v) => ({ lat: (v.lat + c.lat) / 2, lng: (v.lng + c.lng) / 2 }))];
    const inside = candidates.find((p) => layer._containsPoint(map.latLngToLayerPoint(p))) || c;
    const pt = map.latLngToContainerPoint(inside);
    const box = map.getContainer().getBoundingClientRect();
    return { x: box.left + pt.x, y: box.top + pt.y };
  }, { mapId, code });
  assert.ok(at, `grid ${code} is drawn on #${mapId}`);
  // Off the map first, so the hover is a fresh one whatever was under the pointer before.
  await page.mouse.move(1, 1);
  await page.mouse.move(at.x - 4, at.y - 4);
  await page.mouse.move(at.x, at.y, { steps: 4 });
  const tip = page.locator('.leaflet-tooltip').last();
  await tip.waitFor({ state: 'visible', timeout: 10000 }).catch(async (e) => {
    await page.screenshot({ path: path.join(tmpdir(), `gongzhi-security-${mapId}-${level}.png`) });
    throw new Error(`no tooltip on #${mapId} at level ${level} for ${code} (${JSON.stringify(at)}): ${e.message}`);
  });
  return page.evaluate(() => {
    const t = [...document.querySelectorAll('.leaflet-tooltip')].pop();
    return { text: t.textContent, elements: t.querySelectorAll('img, svg, script, b').length };
  });
}

async function noScriptRan(page, seen, where) {
  assert.equal(await page.evaluate(() => window.__pwned), undefined, `${where}: no planted script ran`);
  assert.equal(await page.locator('img[src="x"], svg[onload], script:not([src]):not([type="application/json"])').count(), 0, `${where}: no planted element`);
  assert.deepEqual(seen.posts, [], `${where}: no request was sent`);
  assert.equal(seen.dialogs, 0, `${where}: no dialog`);
}

let failed = false;
try {
  await waitUp();
  const admin = await token('admin', 'admin-demo');
  const usersBefore = (await api('GET', '/api/v1/users', admin)).body.map((u) => u.username).sort();

  // A street admin, made by the district admin through the API.
  const made = await api('POST', '/api/v1/users', admin, {
    username: 'streetadmin', password: 'streetadmin-demo', assignments: [{ role: 'admin', area: STREET }],
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const street = await token('streetadmin', 'streetadmin-demo');

  // Names with control characters are refused, all or nothing, and change nothing.
  const before = await areaName(admin, GRID);
  const bad = await api('POST', '/api/v1/areas/import/divisions', street,
    `code,name,level,parent_code\n${GRID},${csvField('G1\tx')},grid,${COMMUNITY}\n${COMMUNITY},${csvField('C1')},community,${STREET}\n`, 'text/csv');
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.equal(await areaName(admin, GRID), before);
  assert.notEqual(await areaName(admin, COMMUNITY), 'C1');

  // The attack: markup is a legal name, so the import goes through.
  const csv = 'code,name,level,parent_code\n' +
    `${STREET},${csvField(PAYLOADS[STREET])},street,110101\n` +
    `${COMMUNITY},${csvField(PAYLOADS[COMMUNITY])},community,${STREET}\n` +
    `${GRID},${csvField(PAYLOADS[GRID])},grid,${COMMUNITY}\n`;
  const planted = await api('POST', '/api/v1/areas/import/divisions', street, csv, 'text/csv');
  assert.equal(planted.status, 200, JSON.stringify(planted.body));
  for (const [code, name] of Object.entries(PAYLOADS)) {
    assert.equal(await areaName(admin, code), name, `${code} renamed`);
  }

  // The district admin hovers the grid, its community and its street on both maps.
  const { page, seen } = await signIn('admin', 'admin-demo');
  for (const [url, mapId] of [['/dashboard', 'dash-map'], ['/admin', 'admin-map']]) {
    await page.goto(`${BASE}${url}`);
    for (const [level, code] of [[9, STREET], [12, COMMUNITY], [15, GRID]]) {
      const tip = await hover(page, mapId, level, GRID);
      assert.ok(tip.text.startsWith(PAYLOADS[code] + ': '), `${url} level ${level}: the tooltip shows the name as text: ${tip.text}`);
      assert.equal(tip.elements, 0, `${url} level ${level}: the tooltip holds no element from the name`);
      await noScriptRan(page, seen, `${url} level ${level}`);
      if (await page.locator('#map-level').count() === 0) break;
    }
    // A click drills down and names the area in the info line, as text too.
    await noScriptRan(page, seen, url);
  }

  // Pages that name the areas show them literally: the ranking, a case in the grid.
  await page.goto(`${BASE}/dashboard?level=street`);
  const streetCells = await page.locator('#ranking tbody td').allTextContents();
  assert.ok(streetCells.includes(PAYLOADS[STREET]), 'the ranking names the street literally');
  await noScriptRan(page, seen, 'ranking');
  const cases = await api('GET', `/api/v1/cases?area=${GRID}&page_size=1`, admin);
  assert.equal(cases.status, 200);
  if (cases.body.items.length) {
    await page.goto(`${BASE}/cases/${cases.body.items[0].id}`);
    const text = await page.locator('main').textContent();
    assert.ok(text.includes(PAYLOADS[GRID]), 'the case page names its grid literally');
    await page.locator('#case-map').waitFor();
    await noScriptRan(page, seen, 'case page');
  }

  // A reporter's map (the report form) still gets the shapes, without figures.
  const { page: resident } = await signIn('resident', 'resident-demo');
  await resident.goto(`${BASE}/report`);
  await resident.locator('#pick-map .leaflet-interactive').first().waitFor({ timeout: 30000 });
  const grids = await (await resident.request.get(`${BASE}/dashboard/grids.json`)).json();
  assert.ok(grids.features.length >= 500 && grids.features.every((f) => f.properties.open === 0 && f.properties.overdue === 0));

  // Nothing was created by the planted names.
  const usersAfter = (await api('GET', '/api/v1/users', admin)).body.map((u) => u.username).sort();
  assert.deepEqual(usersAfter, [...usersBefore, 'streetadmin'].sort(), 'no user was created but the street admin');
  assertNoCspViolations();
  console.log('e2e security: planted names stayed text on every map and page; no CSP violation');
} catch (e) {
  failed = true;
  console.error(e);
  if (violations.length) console.error('CSP violations:\n' + violations.join('\n'));
  console.error('--- server log (tail) ---\n' + serverLog.split('\n').slice(-40).join('\n'));
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
