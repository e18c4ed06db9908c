// The whole loop in a real browser (Debian's Chromium, driven by playwright-core), across roles:
// a resident reports with a photo, the dispatcher dispatches, the unit signs, contacts and
// reports back, the grid worker verifies on a phone-sized screen, the dispatcher closes, the
// resident answers the callback, and the leader sees the ranking change. Refusals and the
// English toggle are checked too. Screenshots of each main page go to SHOTS (default
// target/e2e-screenshots).
//
// Usage: GONGZHI_BIN=target/debug/gongzhi node crates/gongzhi/tests/e2e/loop.mjs

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { watchCsp, assertNoCspViolations } from './csp.mjs';

const BIN = process.env.GONGZHI_BIN || 'target/debug/gongzhi';
const SHOTS = process.env.SHOTS || 'target/e2e-screenshots';
const PORT = 18000 + Math.floor(Math.random() * 2000);
const BASE = `http://127.0.0.1:${PORT}`;
mkdirSync(SHOTS, { recursive: true });

// One transparent pixel.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082', 'hex');

const dataDir = mkdtempSync(path.join(tmpdir(), 'gongzhi-e2e-'));
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

let step = 0;
async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: path.join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function login(browser, user, opts = {}) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 860 }, ...opts });
  await watchCsp(ctx);
  const page = await ctx.newPage();
  await page.goto(`${BASE}/login`);
  await page.getByLabel('用户名').fill(user);
  await page.getByLabel('密码').fill(`${user}-demo`);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForLoadState('load');
  assert.ok(!page.url().includes('/login'), `${user} signed in`);
  return page;
}

/** Opens a step's form on the case page, fills it with `fill`, submits, and checks it went through. */
async function act(page, caseUrl, stepName, fill) {
  await page.goto(caseUrl);
  const box = page.locator(`details[data-step="${stepName}"]`);
  await assert.doesNotReject(box.waitFor({ timeout: 5000 }), `step ${stepName} is offered`);
  await box.locator('summary').click();
  if (fill) await fill(box);
  await box.locator('button[type=submit]').click();
  await page.waitForLoadState('load');
  const err = await page.locator('.error').allTextContents();
  assert.deepEqual(err, [], `${stepName} went through`);
  assert.ok(page.url().includes(`done=${stepName}`), `${stepName}: ${page.url()}`);
}

async function statusOf(page) {
  return (await page.locator('#case-status').textContent()).trim();
}

/** A point inside the grid worker's first grid: the average of its ring's vertices. */
async function pointInGrid(code) {
  const t = await (await fetch(`${BASE}/api/v1/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'admin-demo' }),
  })).json();
  const fc = await (await fetch(`${BASE}/api/v1/areas/export/geojson?level=grid`, { headers: { authorization: `Bearer ${t.token}` } })).json();
  const f = fc.features.find((x) => x.properties.code === code);
  const g = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
  const pts = g.slice(0, -1);
  const lng = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const lat = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const st = await (await fetch(`${BASE}/api/v1/areas/${code.slice(0, 9)}`, { headers: { authorization: `Bearer ${t.token}` } })).json();
  return { lat: lat.toFixed(6), lng: lng.toFixed(6), grids: fc.features.length, street: st.name || st.area?.name };
}

async function report(page, { filter, category, description, at, photo }) {
  await page.goto(`${BASE}/report`);
  await page.getByLabel('投诉').check();
  await page.getByLabel('问题类别（可搜索）').fill(filter);
  await page.locator('#category').selectOption(category);
  await page.getByLabel('问题描述').fill(description);
  await page.getByLabel('纬度').fill(at.lat);
  await page.getByLabel('经度').fill(at.lng);
  if (photo) await page.getByLabel('照片（最多 9 张）').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: PNG });
  await page.getByLabel('姓名').fill('赵小明');
  await page.getByLabel('电话').fill('13900001111');
}

async function rankingCell(page, rowName, column) {
  const headers = await page.locator('#ranking thead th').allTextContents();
  const col = headers.indexOf(column);
  const rows = page.locator('#ranking tbody tr');
  const n = await rows.count();
  for (let i = 0; i < n; i++) {
    const cells = await rows.nth(i).locator('td').allTextContents();
    if (cells[1] === rowName) return cells[col];
  }
  return null;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
let failed = false;
try {
  await waitUp();
  const at = await pointInGrid('110101001001001');
  assert.ok(at.grids >= 500, `the demo has its ~600 grids (${at.grids})`);

  // Leader: the dashboard before, with the map of all grids.
  const leader = await login(browser, 'leader');
  assert.ok(leader.url().endsWith('/dashboard'));
  await leader.locator('#dash-map[data-ready]').waitFor({ timeout: 20000 });
  assert.equal(await leader.locator('#dash-map').getAttribute('data-ready'), String(at.grids));
  const street = at.street;
  await leader.goto(`${BASE}/dashboard?level=street`);
  const before = Number(await rankingCell(leader, street, '有效回访') || 0);
  await shot(leader, 'leader-dashboard');

  // Resident: report with a photo; the answer carries the case number.
  const resident = await login(browser, 'resident');
  await report(resident, { filter: '广告', category: 'C0303', description: '广告牌匾松动，随时可能掉落', at, photo: true });
  await shot(resident, 'resident-report-form');
  await resident.getByRole('button', { name: '提交' }).click();
  await resident.waitForLoadState('load');
  const notice = await resident.locator('.notice').textContent();
  assert.match(notice, /案件编号：\d{14}/, notice);
  const caseUrl = resident.url().split('?')[0];
  assert.equal(await resident.locator('.photos img').count(), 1, 'the photo is on the case');
  assert.equal(await statusOf(resident), '待受理');
  await shot(resident, 'resident-case-created');

  // A bad report is refused with the reason and creates nothing.
  await report(resident, { filter: '广告', category: 'C0303', description: '坐标在区外', at: { lat: '31.2', lng: '121.5' } });
  await resident.getByRole('button', { name: '提交' }).click();
  await resident.waitForLoadState('load');
  assert.match(await resident.locator('.error').textContent(), /outside the jurisdiction/);

  // A second case that another unit handles (water cover → 水务局), for the refusal below.
  await report(resident, { filter: '上水', category: 'C0101', description: '上水井盖缺失', at });
  await resident.getByRole('button', { name: '提交' }).click();
  await resident.waitForLoadState('load');
  const otherCase = resident.url().split('?')[0];

  // Dispatcher: the queue, then accept, file, dispatch to the suggested unit.
  const dispatcher = await login(browser, 'dispatcher');
  assert.ok(dispatcher.url().endsWith('/queue'));
  assert.ok((await dispatcher.locator('table.cases').textContent()).includes('广告牌匾'));
  await shot(dispatcher, 'dispatcher-queue');
  await act(dispatcher, caseUrl, 'accept');
  await act(dispatcher, caseUrl, 'file');
  await act(dispatcher, caseUrl, 'dispatch', async (box) => {
    assert.equal(await box.locator('select[name=unit]').inputValue(), '110101-cgw', 'the routed unit is suggested');
  });
  assert.equal(await statusOf(dispatcher), '已派遣');
  await shot(dispatcher, 'dispatcher-case');

  // Handling unit: inbox, sign, contact, report back with a photo.
  const handler = await login(browser, 'handler');
  assert.ok(handler.url().endsWith('/inbox'));
  assert.ok((await handler.locator('table.cases').textContent()).includes('广告牌匾'));
  await shot(handler, 'handler-inbox');
  await act(handler, caseUrl, 'sign');
  await act(handler, caseUrl, 'contact', (box) => box.locator('textarea').fill('已电话联系诉求人'));
  await act(handler, caseUrl, 'report_back', async (box) => {
    await box.locator('textarea').fill('已加固广告牌匾');
    await box.locator('input[type=file]').setInputFiles({ name: 'done.png', mimeType: 'image/png', buffer: PNG });
  });
  assert.equal(await statusOf(handler), '待核查');
  assert.equal(await handler.locator('.photos img').count(), 2);
  await shot(handler, 'handler-reported-back');

  // Refusals: the unit cannot see another unit's case, nor take a dispatcher's step.
  const resp = await handler.goto(otherCase);
  // Not found rather than forbidden: whether someone else's case exists is not theirs to know.
  assert.ok([403, 404].includes(resp.status()), `a unit cannot open a case that is not theirs (${resp.status()})`);
  assert.ok(await handler.locator('.error').isVisible());
  const dash = await handler.goto(`${BASE}/dashboard`);
  assert.equal(dash.status(), 403);

  // Grid worker on a phone: tasks, verify on the spot.
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
  const gw = await login(browser, 'gridworker', phone);
  assert.ok(gw.url().endsWith('/tasks'));
  assert.ok((await gw.locator('table.cases').textContent()).includes('广告牌匾'));
  await shot(gw, 'gridworker-tasks-phone');
  await act(gw, caseUrl, 'verify', (box) => box.locator('input[name=passed][value=true]').check());
  assert.equal(await statusOf(gw), '待结案');
  await shot(gw, 'gridworker-verified-phone');

  // Dispatcher closes.
  await act(dispatcher, caseUrl, 'close');
  assert.equal(await statusOf(dispatcher), '已结案');

  // Resident answers the callback.
  await resident.goto(`${BASE}/my`);
  assert.ok((await resident.locator('table.cases').textContent()).includes('广告牌匾'));
  await act(resident, caseUrl, 'call_back', async (box) => {
    await box.locator('input[name=resolved][value=true]').check();
    await box.locator('input[name=satisfaction][value=satisfied]').check();
  });
  assert.equal(await statusOf(resident), '已回访');
  await shot(resident, 'resident-called-back');

  // The leader sees the ranking change.
  await leader.goto(`${BASE}/dashboard?level=street`);
  const after = Number(await rankingCell(leader, street, '有效回访'));
  assert.equal(after, before + 1, `valid callbacks of ${street}: ${before} → ${after}`);
  await shot(leader, 'leader-ranking-after');
  // The district's leader also ranks the district's departments.
  await leader.goto(`${BASE}/dashboard?level=unit`);
  assert.ok(Number(await rankingCell(leader, '东城区城市管理委员会', '有效回访')) >= 1, 'the unit ranking shows 城管委');

  // English, remembered across pages.
  await leader.getByRole('link', { name: 'English' }).click();
  await leader.waitForLoadState('load');
  assert.equal(await leader.locator('html').getAttribute('lang'), 'en');
  await leader.goto(`${BASE}/cases`);
  assert.ok(await leader.getByRole('button', { name: 'Sign out' }).isVisible());
  assert.equal((await leader.locator('h1').textContent()).trim(), 'Cases');
  await shot(leader, 'leader-cases-english');

  // Administration.
  const admin = await login(browser, 'admin');
  assert.ok(admin.url().endsWith('/admin'));
  assert.ok((await admin.locator('#audit').textContent()).includes('case.call_back'));
  await shot(admin, 'admin');

  // A form from elsewhere (no CSRF token) is refused.
  const forged = await admin.request.post(`${caseUrl}/act/cancel`, { multipart: { reason: 'x' } });
  assert.equal(forged.status(), 403);

  // Deliberation: a resident (phone) votes on the open topic, raises a topic the council
  // accepts, comments, proposes a micro-project and answers a consultation; results of the
  // finished calls and the drawn panel are public and re-run.
  const rp = await login(browser, 'resident', phone);
  await rp.goto(`${BASE}/deliberation`);
  await shot(rp, 'resident-deliberation-phone');
  await rp.getByRole('link', { name: '多福巷小区夜间停车管理' }).click();
  await rp.waitForLoadState('load');
  assert.equal((await rp.locator('#topic-status').textContent()).trim(), '投票中');
  const votingTopic = rp.url().split('?')[0];
  await rp.locator('input[name=choice][value=yes]').check();
  await rp.locator('#cast-vote').click();
  await rp.waitForLoadState('load');
  assert.deepEqual(await rp.locator('.error').allTextContents(), [], 'the vote counted');
  assert.ok(await rp.locator('#voted').isVisible(), 'the page says the resident has voted');
  assert.equal(await rp.locator('#cast-vote').count(), 0, 'no second ballot is offered');
  await shot(rp, 'resident-voted-phone');
  // A replayed ballot (the same form sent again) is refused.
  const csrf = await rp.locator('input[name=_csrf]').first().inputValue();
  const again = await rp.request.post(`${votingTopic}/do/vote`, { multipart: { _csrf: csrf, choice: 'no' } });
  assert.equal(again.status(), 409, 'a second vote is refused');

  // A grid worker is not a verified resident: the vote is refused with the reason.
  await gw.goto(votingTopic);
  await gw.locator('input[name=choice][value=yes]').check();
  await gw.locator('#cast-vote').click();
  await gw.waitForLoadState('load');
  assert.match(await gw.locator('.error').textContent(), /verified/);

  await rp.goto(`${BASE}/deliberation`);
  await rp.getByLabel('标题').fill('3号楼门禁维修');
  await rp.getByLabel('内容').fill('单元门禁经常失灵，建议维修。');
  await rp.getByLabel('范围').selectOption('building');
  await rp.getByRole('button', { name: '提交议题' }).click();
  await rp.waitForLoadState('load');
  assert.equal((await rp.locator('#topic-status').textContent()).trim(), '待审议');
  const newTopic = rp.url().split('?')[0];

  const council = await login(browser, 'council');
  assert.ok(council.url().endsWith('/deliberation'));
  await council.goto(newTopic);
  await council.locator('#steps details').filter({ hasText: '受理' }).first().locator('summary').click();
  await council.locator('#steps details').filter({ hasText: '受理' }).first().locator('button[type=submit]').click();
  await council.waitForLoadState('load');
  assert.equal((await council.locator('#topic-status').textContent()).trim(), '议事中');
  await shot(council, 'council-topic');

  await rp.goto(newTopic);
  await rp.getByLabel('意见').fill('支持尽快维修。');
  await rp.getByRole('button', { name: '发表意见' }).click();
  await rp.waitForLoadState('load');
  assert.ok((await rp.locator('#comments').textContent()).includes('支持尽快维修'));

  // The finished calls: computed winners with reasons, and the Pabulib file to recompute.
  await council.goto(`${BASE}/deliberation`);
  await council.getByRole('link', { name: /第一批/ }).click();
  await council.waitForLoadState('load');
  assert.equal((await council.locator('#call-phase').textContent()).trim(), '实施中');
  assert.ok(await council.locator('#results tr.won').count() >= 1, 'winners are shown');
  const pbLink = await council.locator('#results a[href$="export.pb"]').getAttribute('href');
  const pb = await (await council.request.get(`${BASE}${pbLink}`)).text();
  assert.ok(pb.startsWith('META') && pb.includes('VOTES'), 'the Pabulib export');
  await shot(council, 'council-call-results');

  // The open call takes a resident's proposal.
  await rp.goto(`${BASE}/deliberation`);
  await rp.getByRole('link', { name: /2027年民生微实事/ }).click();
  await rp.waitForLoadState('load');
  await rp.getByLabel('项目名称').fill('楼前座椅');
  await rp.getByLabel('估算费用（元）').fill('8000');
  await rp.getByRole('button', { name: '提交', exact: true }).click();
  await rp.waitForLoadState('load');
  assert.ok((await rp.locator('#projects').textContent()).includes('楼前座椅'));

  // The consultation: one response, then it says so.
  await rp.goto(`${BASE}/deliberation`);
  await rp.getByRole('link', { name: '多福巷小区停车位划线征询' }).click();
  await rp.waitForLoadState('load');
  await rp.locator('input[name=q0][value="0"]').check();
  await rp.locator('input[name=q1][value="1"]').check();
  await rp.locator('input[name=q2]').fill('4');
  await rp.getByRole('button', { name: '提交' }).click();
  await rp.waitForLoadState('load');
  assert.ok(await rp.locator('#answered').isVisible(), 'the response is recorded');
  await shot(rp, 'resident-consultation-phone');

  // The drawn panel re-runs in the page.
  await rp.goto(`${BASE}/deliberation`);
  await rp.getByRole('link', { name: /议事会居民代表/ }).click();
  await rp.waitForLoadState('load');
  assert.match(await rp.locator('#verdict').textContent(), /复算通过/);
  assert.equal(await rp.locator('#drawn li').count(), 7);
  await shot(rp, 'resident-panel-phone');

  // The council hands out one-time codes and draws a new panel from a published list.
  await council.goto(`${BASE}/deliberation`);
  await council.locator('#c-count').fill('2');
  await council.getByRole('button', { name: '生成认证码' }).click();
  await council.waitForLoadState('load');
  assert.equal(await council.locator('#codes li').count(), 2);
  assert.match(await council.locator('#codes li').first().textContent(), /^[2-9A-HJ-NP-Z]{10}$/);
  await council.goto(`${BASE}/deliberation`);
  await council.locator('#pn-title').fill('楼门长抽选');
  await council.locator('#pn-seats').fill('2');
  await council.locator('#pn-c').fill('01 王*英\n02 李*华\n03 张*强\n04 刘*娟');
  await council.getByRole('button', { name: '公布名单和种子承诺' }).click();
  await council.waitForLoadState('load');
  await council.locator('#draw').click();
  await council.waitForLoadState('load');
  assert.equal(await council.locator('#drawn li').count(), 2);
  assert.match(await council.locator('#verdict').textContent(), /复算通过/);

  // A resident reports a comment; the moderator sees it and hides it with a reason.
  await rp.goto(newTopic);
  await rp.locator('#comments article details summary').first().click();
  await rp.locator('#comments article details input[name=reason]').first().fill('与议题无关');
  await rp.locator('#comments article details button[type=submit]').first().click();
  await rp.waitForLoadState('load');
  assert.deepEqual(await rp.locator('.error').allTextContents(), []);
  const mod = await login(browser, 'moderator');
  await mod.goto(`${BASE}/moderation?area=110101001`);
  assert.ok((await mod.locator('#reports').textContent()).includes('与议题无关'));
  await mod.locator('#reports form').first().locator('input[name=reason]').fill('经核实与议题无关');
  await mod.locator('#reports form').first().locator('button').click();
  await mod.waitForLoadState('load');
  await shot(mod, 'moderator-queue');
  await rp.goto(newTopic);
  assert.ok((await rp.locator('#comments').textContent()).includes('经核实与议题无关'), 'the reason is shown in place of the comment');

  // Public notices need no sign-in: the elevator resolution and the finished calls.
  const anonCtx = await browser.newContext({ locale: 'zh-CN' });
  await watchCsp(anonCtx);
  const anon = await anonCtx.newPage();
  await anon.goto(`${BASE}/`);
  await anon.getByRole('link', { name: /公示公告/ }).click();
  await anon.waitForLoadState('load');
  assert.ok((await anon.locator('#notice-topics').textContent()).includes('加装电梯'));
  assert.equal(await anon.locator('#notice-calls li').count(), 2);
  await shot(anon, 'public-notices');

  // In English.
  await council.getByRole('link', { name: 'English' }).click();
  await council.waitForLoadState('load');
  await council.goto(votingTopic);
  assert.equal((await council.locator('#vote h2').textContent()).trim(), 'The vote');

  // Every page above ran under the CSP without a refusal (maps, charts, forms).
  assertNoCspViolations();
  console.log(`e2e: the whole loop passed; screenshots in ${SHOTS}`);
} catch (e) {
  failed = true;
  console.error(e);
  console.error('--- server log (tail) ---\n' + serverLog.split('\n').slice(-40).join('\n'));
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
