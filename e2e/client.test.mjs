// The compiled TypeScript client (clients/typescript/dist) on its own:
// what it sends, how it reports errors, and the success page's bounded
// wait, against a fetch that answers as the functions do.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BillingClient, BillingError, PaymentFailedError } from '../clients/typescript/dist/index.js'

const free = { subscribed: false, plan: 'free', status: null, limits: {} }
const paid = { subscribed: true, plan: 'standard', status: 'active', limits: {} }

function fakeFetch(answers) {
  const calls = []
  const fn = async (url, init) => {
    calls.push({ url, ...init })
    const [status, body, headers] = answers.length > 1 ? answers.shift() : answers[0]
    return new Response(JSON.stringify(body), { status, headers })
  }
  return { fn, calls }
}

test('a call sends the token, the JSON body, to base/<name>', async () => {
  const f = fakeFetch([[200, { sessionId: 'cs_1', url: 'https://x' }]])
  const c = new BillingClient({ baseUrl: 'http://h/functions/v1/', getToken: async () => 'tok', fetch: f.fn })
  const res = await c.createCheckoutSession({ plan: 'standard' })
  assert.equal(res.sessionId, 'cs_1')
  assert.equal(f.calls[0].url, 'http://h/functions/v1/create-checkout-session')
  assert.equal(f.calls[0].method, 'POST')
  assert.equal(f.calls[0].headers.Authorization, 'Bearer tok')
  assert.deepEqual(JSON.parse(f.calls[0].body), { plan: 'standard' })
})

test('no session: missing_token before any request, with the contract body', async () => {
  const f = fakeFetch([[200, free]])
  const c = new BillingClient({ baseUrl: 'http://h', getToken: () => null, fetch: f.fn })
  await assert.rejects(c.checkSubscription(), (err) => {
    assert.ok(err instanceof BillingError)
    assert.equal(err.status, 401)
    assert.equal(err.code, 'missing_token')
    assert.equal(err.body.error, 'missing_token')
    assert.ok(err.isAuthError)
    return true
  })
  assert.equal(f.calls.length, 0)
})

test('an error answer is a BillingError with the status, code, body and Retry-After', async () => {
  const body = { error: 'rate_limited', message: 'Too many requests.' }
  const f = fakeFetch([[429, body, { 'Retry-After': '7' }]])
  const c = new BillingClient({ baseUrl: 'http://h', getToken: () => 't', fetch: f.fn })
  await assert.rejects(c.resumeSubscription(), (err) => {
    assert.equal(err.status, 429)
    assert.equal(err.code, 'rate_limited')
    assert.equal(err.message, 'Too many requests.')
    assert.deepEqual(err.body, body)
    assert.equal(err.retryAfter, 7)
    assert.equal(err.isAuthError, false)
    return true
  })
})

test('cancel and resume tell the listeners the new state', async () => {
  const f = fakeFetch([[200, paid]])
  const c = new BillingClient({ baseUrl: 'http://h', getToken: () => 't', fetch: f.fn })
  const seen = []
  const off = c.onChange((s) => seen.push(s.plan))
  await c.cancelSubscription({ reason: 'too_expensive' })
  off()
  await c.resumeSubscription()
  assert.deepEqual(seen, ['standard'])
})

test('waitForPlan: reconcile, then poll until active', async () => {
  const f = fakeFetch([[200, free], [200, free], [200, paid]])
  const c = new BillingClient({ baseUrl: 'http://h', getToken: () => 't', fetch: f.fn })
  const r = await c.waitForPlan({ plan: 'standard', intervalMs: 5, timeoutMs: 2000 })
  assert.equal(r.status, 'active')
  assert.equal(r.state.plan, 'standard')
  assert.deepEqual(f.calls.map((x) => x.url.split('/').pop()), ['reconcile-subscriptions', 'check-subscription', 'check-subscription'])
})

test('waitForPlan: a bounded wait ends in the timeout state', async () => {
  const f = fakeFetch([[200, free]])
  const c = new BillingClient({ baseUrl: 'http://h', getToken: () => 't', fetch: f.fn })
  const start = Date.now()
  const r = await c.waitForPlan({ intervalMs: 20, timeoutMs: 150 })
  assert.equal(r.status, 'timeout')
  assert.equal(r.state.plan, 'free')
  assert.ok(Date.now() - start < 1000, 'the wait is bounded')
})

test('previewChange and confirmChange send change-plan the preview and its prorationDate', async () => {
  const preview = { plan: 'premium', currentPlan: 'standard', change: 'upgrade', effective: 'now', effectiveAt: '2026-12-01T00:00:00Z',
    amountDue: 500, currency: 'jpy', prorationDate: 1796169600, lines: [], nextRenewal: null }
  const f = fakeFetch([[200, preview], [200, { ...paid, plan: 'premium' }]])
  const c = new BillingClient({ baseUrl: 'http://h', getToken: () => 't', fetch: f.fn })
  const seen = []
  c.onChange((s) => seen.push(s.plan))
  const pv = await c.changePlan('premium', { preview: true })
  assert.equal(pv.amountDue, 500)
  const s = await c.confirmChange(pv)
  assert.equal(s.plan, 'premium')
  assert.deepEqual(f.calls.map((x) => [x.url, JSON.parse(x.body)]), [
    ['http://h/change-plan', { plan: 'premium', preview: true }],
    ['http://h/change-plan', { plan: 'premium', prorationDate: 1796169600 }],
  ])
  assert.deepEqual(seen, ['premium'], 'the change, not the preview, tells the listeners')
})

test("change-plan's 402 is a PaymentFailedError with the hosted invoice URL", async () => {
  const body = { error: 'payment_failed', message: 'The payment did not go through.', invoiceId: 'in_1', hostedInvoiceUrl: 'https://invoice.stripe.com/i/1' }
  const f = fakeFetch([[402, body]])
  const c = new BillingClient({ baseUrl: 'http://h', getToken: () => 't', fetch: f.fn })
  await assert.rejects(c.changePlan('premium', { prorationDate: 1 }), (err) => {
    assert.ok(err instanceof PaymentFailedError)
    assert.ok(err instanceof BillingError)
    assert.equal(err.status, 402)
    assert.equal(err.code, 'payment_failed')
    assert.equal(err.hostedInvoiceUrl, 'https://invoice.stripe.com/i/1')
    assert.equal(err.invoiceId, 'in_1')
    assert.deepEqual(err.body, body)
    return true
  })
})
