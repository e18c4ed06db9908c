// Content-Security-Policy violations, collected from every page of a browser context: the
// browser's own console reports and the page's `securitypolicyviolation` events. A browser
// test fails when any were seen (see `assertNone`).

import assert from 'node:assert/strict';

export const violations = [];

/** Watches every page of `ctx` from its first script on. */
export async function watchCsp(ctx) {
  await ctx.exposeBinding('__gzCspViolation', ({ page }, text) => violations.push(`${page?.url()}: ${text}`));
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__gzCspViolation(`${e.violatedDirective} refused ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber} ${e.sample || ''}`);
    });
  });
  ctx.on('console', (m) => {
    if (/content.security.policy/i.test(m.text())) violations.push(`${m.location().url}: ${m.text()}`);
  });
}

export function assertNoCspViolations() {
  assert.deepEqual(violations, [], 'no Content-Security-Policy violations');
}
