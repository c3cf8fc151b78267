// The demo page end to end, in a real browser: playwright-core driving
// Debian's chromium (no browser download) against `billing dev` with a real
// PostgreSQL (TEST_DATABASE_URL, from `billing testenv`) and the local
// Stripe in front of stripe-mock. Screenshots go to e2e/screenshots/.
//
// Run: go run ./cmd/billing testenv -- npm --prefix e2e test   (make test does)
// To see what billing dev logged: E2E_LOG_LEVEL=info E2E_DEV_LOG=<file> make test-e2e
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const shots = join(here, 'screenshots')
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

let dev, browser, page, base, tmp
let devLog = ''

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

async function waitUp(url, ms) {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {}
    if (dev.exitCode !== null) throw new Error('billing dev exited:\n' + devLog.slice(-3000))
    if (Date.now() > deadline) throw new Error('billing dev did not answer in time:\n' + devLog.slice(-3000))
    await new Promise((r) => setTimeout(r, 200))
  }
}

before(async () => {
  const db = process.env.TEST_DATABASE_URL
  assert.ok(db, 'TEST_DATABASE_URL is not set: run through `go run ./cmd/billing testenv -- ...` (make test does)')
  tmp = mkdtempSync(join(tmpdir(), 'billing-e2e-'))
  mkdirSync(shots, { recursive: true })
  const bin = join(tmp, 'billing')
  execFileSync('go', ['build', '-o', bin, './cmd/billing'], { cwd: root, stdio: 'inherit' })
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  // Only what dev needs: no Stripe key (so the local Stripe runs), no
  // Supabase URL, a throwaway data folder for the secrets and Stripe state.
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME ?? tmp, GOCACHE: process.env.GOCACHE ?? '', GOPATH: process.env.GOPATH ?? '',
    DATABASE_URL: db, PORT: String(port), DEV_STRIPE_MOCK_PORT: '0', BILLING_DATA_DIR: join(tmp, 'data'),
    BILLING_BIN_DIR: join(root, '.bin'), LOG_LEVEL: process.env.E2E_LOG_LEVEL || 'warn',
  }
  for (const k of Object.keys(env)) if (env[k] === '') delete env[k]
  dev = spawn(bin, ['dev'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  dev.stdout.on('data', (b) => { devLog += b })
  dev.stderr.on('data', (b) => { devLog += b })
  await waitUp(base + '/demo/config.json', 90_000)
  // A fresh --user-data-dir: Playwright passes it for a persistent context.
  browser = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  page = browser.pages()[0] ?? await browser.newPage()
  page.on('pageerror', (err) => { devLog += '\n[page error] ' + err.message })
  await page.goto(base + '/')
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
})

after(async () => {
  await browser?.close()
  if (dev && dev.exitCode === null) {
    const exited = new Promise((r) => dev.once('exit', r))
    dev.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
    if (dev.exitCode === null) dev.kill('SIGKILL')
  }
  if (process.env.E2E_DEV_LOG) (await import('node:fs')).writeFileSync(process.env.E2E_DEV_LOG, devLog)
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

const text = (id) => page.locator('#' + id).textContent()

async function shot(name) {
  await page.screenshot({ path: join(shots, name + '.png'), fullPage: true })
}

// until clicks Refresh (when refresh is set) until check(state) holds: the
// state is what the page shows, so a change that lands with the webhook
// event a moment later is waited for, as a user would.
async function until(what, check, { refresh = true, ms = 15_000 } = {}) {
  const deadline = Date.now() + ms
  let last
  for (;;) {
    last = {
      plan: await text('plan'), status: await text('status'), subscribed: await text('subscribed'),
      cancel: await text('cancel-at-period-end'), accessUntil: await text('access-until'),
      flags: await text('flags'), limits: await text('limits'), result: await text('result-title'),
    }
    if (check(last)) return last
    if (Date.now() > deadline) {
      await shot('failed-' + what.replace(/\W+/g, '-'))
      assert.fail(`${what}: the page shows ${JSON.stringify(last)}\n${devLog.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 400))
    if (refresh) await page.click('#refresh')
  }
}

test('the demo flow: free user, limit, checkout, paid access, cancel with grace, resume, plan change, end of period, 401s', async (t) => {
  await t.test('a call without a token shows the 401 clearly', async () => {
    await page.click('#refresh')
    const s = await until('missing token', (s) => s.result.includes('HTTP 401 missing_token'), { refresh: false })
    assert.match(await text('result'), /"message": ".+"/)
    await shot('01-missing-token')
    assert.ok(s)
  })

  await t.test('a new user is on the free plan', async () => {
    await page.click('#signin-new')
    const s = await until('free plan', (s) => s.plan === 'free' && s.subscribed === 'false', { refresh: false })
    assert.equal(s.status, 'none')
    assert.match(s.flags, /hasMemberAccess=false/)
    assert.equal(s.limits, 'properties: 3')
    await shot('02-free')
  })

  await t.test('the free limit is reached', async () => {
    for (let i = 1; i <= 3; i++) {
      await page.click('#consume')
      await page.waitForFunction((n) => document.getElementById('usage').textContent.includes(`used=${n} `), i)
    }
    await page.click('#consume')
    await page.waitForFunction(() => document.getElementById('usage').dataset.allowed === 'false')
    assert.match(await text('usage'), /allowed=false used=3 limit=3/)
    await shot('03-limit-reached')
  })

  await t.test('checkout, pay, and paid access', async () => {
    await page.selectOption('#plan-select', 'standard')
    await page.click('#checkout')
    await page.waitForFunction(() => document.getElementById('checkout-info').textContent.startsWith('cs_'))
    await page.click('#pay')
    const s = await until('paid', (s) => s.plan === 'standard' && s.subscribed === 'true', { ms: 25_000, refresh: false })
    assert.equal(s.status, 'active')
    assert.match(s.flags, /hasMemberAccess=true/)
    assert.equal(s.limits, 'properties: 10')
    assert.equal(s.accessUntil, 'renewing')
    await page.waitForSelector('#webhooks li[data-type="checkout.session.completed"]')
    await page.waitForSelector('#webhooks li[data-type="customer.subscription.created"]')
    await page.click('#consume')
    await page.waitForFunction(() => document.getElementById('usage').dataset.allowed === 'true')
    await shot('04-paid')
  })

  await t.test('a second checkout is refused', async () => {
    await page.click('#checkout')
    await until('already subscribed', (s) => s.result.includes('HTTP 409 already_subscribed'), { refresh: false })
  })

  await t.test('cancel with a reason keeps access until the period end', async () => {
    await page.selectOption('#cancel-reason', 'too_expensive')
    await page.click('#cancel')
    // The action's own answer first (as a user waits for the button), so
    // that it cannot land over a later step's.
    await until('cancel answered', (s) => s.result === 'cancel-subscription: ok', { refresh: false })
    const s = await until('grace', (s) => s.cancel === 'true' && /^\d{4}-/.test(s.accessUntil))
    assert.equal(s.subscribed, 'true')
    assert.equal(s.plan, 'standard')
    await page.waitForSelector('#webhooks li[data-type="customer.subscription.updated"]')
    await shot('05-cancel-grace')
  })

  await t.test('resume', async () => {
    await page.click('#resume')
    await until('resume answered', (s) => s.result === 'resume-subscription: ok', { refresh: false })
    const s = await until('resumed', (s) => s.cancel === 'false' && s.accessUntil === 'renewing' && s.subscribed === 'true')
    assert.equal(s.status, 'active')
    await shot('06-resumed')
  })

  await t.test('change-plan: preview, confirm, the upgrade applies', async () => {
    await page.selectOption('#change-plan-select', 'premium')
    await page.click('#change-plan')
    await page.waitForSelector('#change-dialog[open]')
    assert.equal(await text('change-current'), 'standard')
    assert.equal(await text('change-target'), 'premium')
    assert.equal(await text('change-kind'), 'upgrade')
    assert.equal(await text('change-effective'), 'now')
    assert.match(await text('change-amount'), /^\d+$/)
    assert.match(await text('change-currency'), /^[a-z]{3}$/)
    await shot('07-change-plan-preview')
    await page.click('#change-confirm')
    // The client shows the new state (onChange) a moment before the page
    // writes the answer's title: wait for both.
    const s = await until('upgraded', (s) => s.plan === 'premium' && s.limits === 'properties: unlimited' &&
      s.result.startsWith('change-plan: ok'), { refresh: false })
    assert.equal(s.subscribed, 'true')
    await page.waitForSelector('#webhooks li[data-type="customer.subscription.updated"]')
    await shot('08-change-plan-upgraded')
  })

  await t.test('change-plan: a downgrade is previewed, but the local Stripe cannot schedule it', async () => {
    await page.selectOption('#change-plan-select', 'standard')
    await page.click('#change-plan')
    await page.waitForSelector('#change-dialog[open]')
    assert.equal(await text('change-kind'), 'downgrade')
    assert.equal(await text('change-effective'), 'period_end')
    assert.equal(await text('change-amount'), '0')
    assert.ok(await page.isVisible('#change-warning'))
    assert.ok(await page.isDisabled('#change-confirm'))
    await page.click('#change-close')
  })

  await t.test('a plan change made in the portal arrives by webhook', async () => {
    await page.selectOption('#portal-plan', 'standard')
    await page.click('#portal-change')
    const s = await until('standard again', (s) => s.plan === 'standard' && s.limits === 'properties: 10')
    assert.equal(s.subscribed, 'true')
    await shot('09-portal-plan-change')
  })

  await t.test('the end of a canceled period ends access', async () => {
    await page.click('#cancel')
    await until('grace again', (s) => s.cancel === 'true')
    await page.click('#advance')
    const s = await until('ended', (s) => s.status === 'canceled' && s.plan === 'free' && s.subscribed === 'false')
    assert.match(s.flags, /hasMemberAccess=false/)
    assert.equal(s.limits, 'properties: 3')
    await page.waitForSelector('#webhooks li[data-type="customer.subscription.deleted"]')
    await shot('10-ended')
  })

  await t.test('an expired token is a clear 401', async () => {
    await page.click('#signin-expired')
    await until('expired', (s) => s.result.includes('HTTP 401 token_expired'), { refresh: false })
    await shot('11-token-expired')
  })
})
