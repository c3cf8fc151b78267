// The demo page's script: the TypeScript client (compiled, served by
// `billing dev` at /client/) against the functions on this origin.
import { BillingClient, BillingError, PaymentFailedError } from '/client/index.js'

const $ = (id) => document.getElementById(id)
const cfg = await (await fetch('/demo/config.json')).json()

let token = null
let userId = null
let sessionId = null

const client = new BillingClient({ baseUrl: location.origin + cfg.functionsPath, getToken: () => token })
client.onChange(show)

function show(s) {
  $('plan').textContent = s.plan
  $('status').textContent = s.status ?? 'none'
  $('subscribed').textContent = String(s.subscribed)
  $('cancel-at-period-end').textContent = String(s.cancelAtPeriodEnd)
  $('access-until').textContent = s.accessUntil ?? 'renewing'
  $('period-end').textContent = s.currentPeriodEnd ?? '-'
  $('flags').textContent = Object.keys(s).filter((k) => k.startsWith('has')).map((k) => `${k}=${s[k]}`).join(' ') || 'none'
  $('limits').textContent = Object.entries(s.limits).map(([k, v]) => `${k}: ${v === null ? 'unlimited' : v}`).join(', ') || 'none'
  $('scheduled').textContent = s.scheduledPlan ? `${s.scheduledPlan} at ${s.scheduledChangeAt}` : 'none'
  $('state-json').textContent = JSON.stringify(s, null, 2)
}

function result(title, body, isError = false) {
  $('result-title').textContent = title
  $('result-title').className = isError ? 'error' : 'ok'
  $('result').textContent = typeof body === 'string' ? body : JSON.stringify(body, null, 2)
}

// run calls fn and shows its answer, or the error exactly as the function sent it.
async function run(title, fn) {
  try {
    const out = await fn()
    result(title + ': ok', out ?? '')
    return out
  } catch (err) {
    if (err instanceof BillingError) {
      result(`${title}: HTTP ${err.status} ${err.code}`, err.body ?? err.message, true)
    } else {
      result(title + ': failed', String(err), true)
    }
    return undefined
  } finally {
    await refreshWebhooks()
  }
}

async function refresh() {
  const s = await run('check-subscription', () => client.checkSubscription())
  if (s) show(s)
}

async function signIn(body) {
  const res = await fetch('/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  const t = await res.json()
  if (!res.ok) return result('sign in: HTTP ' + res.status, t, true)
  token = t.access_token
  userId = t.userId
  $('user').textContent = `${t.userId} (${t.email})`
  await refresh()
}

async function localStripe(path, body) {
  const res = await fetch(cfg.localStripePath + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  const out = await res.json()
  if (!res.ok) throw Object.assign(new Error(out.message), { local: out, status: res.status })
  return out
}

async function refreshWebhooks() {
  if (!cfg.localStripe) return
  const { deliveries } = await (await fetch(cfg.localStripePath + '/events')).json()
  const list = $('webhooks')
  list.replaceChildren(...deliveries.slice(-20).reverse().map((d) => {
    const li = document.createElement('li')
    li.textContent = `${d.type} ${d.objectId} -> ${d.status || 'unreachable'} ${d.response ?? d.error ?? ''}`
    li.dataset.type = d.type
    return li
  }))
}

$('signin-demo').onclick = () => signIn({})
$('signin-new').onclick = () => signIn({ email: `new-${Date.now()}@example.com` })
$('signin-expired').onclick = () => signIn({ userId: userId ?? cfg.demoUserId, ttlSeconds: -120 })
$('signout').onclick = async () => {
  token = null
  $('user').textContent = 'signed out'
  await refresh()
}
$('refresh').onclick = refresh

$('checkout').onclick = async () => {
  const out = await run('create-checkout-session', () =>
    client.createCheckoutSession({ plan: $('plan-select').value, successPath: '/payment/success' }))
  if (!out) return
  sessionId = out.sessionId
  $('checkout-info').textContent = sessionId
  $('checkout-info').dataset.url = out.url
  $('pay').disabled = !cfg.localStripe
}

$('pay').onclick = async () => {
  try {
    const paid = await localStripe('/pay', { session: sessionId })
    $('pay').disabled = true
    result('local Stripe: paid', paid)
  } catch (err) {
    return result(`local Stripe pay: HTTP ${err.status}`, err.local ?? String(err), true)
  } finally {
    await refreshWebhooks()
  }
  // What a success page does: reconcile once, then poll until the plan is active.
  const r = await run('success page (reconcile, then poll)', () => client.waitForPlan({ timeoutMs: 20000, intervalMs: 500 }))
  if (r) show(r.state ?? {})
}

$('cancel').onclick = () => run('cancel-subscription', () => client.cancelSubscription({ reason: $('cancel-reason').value }))
$('resume').onclick = () => run('resume-subscription', () => client.resumeSubscription())
$('portal').onclick = () => run('create-portal-session', () => client.createPortalSession({ returnPath: '/' }))

// change-plan: preview (what it costs, when it takes effect), then confirm
// with the preview's prorationDate so that the charge is the one shown.
let preview = null
$('change-plan').onclick = async () => {
  preview = await run('change-plan (preview)', () => client.previewChange($('change-plan-select').value))
  if (!preview) return
  $('change-current').textContent = preview.currentPlan
  $('change-target').textContent = preview.plan
  $('change-kind').textContent = preview.change
  $('change-amount').textContent = String(preview.amountDue)
  $('change-currency').textContent = preview.currency
  $('change-effective').textContent = preview.effective
  $('change-effective-at').textContent = preview.effectiveAt
  const r = preview.nextRenewal
  $('change-renewal').textContent = r ? `${r.amount} ${r.currency} on ${r.date}` : 'none'
  // The local Stripe keeps no subscription schedules: a downgrade at the
  // period end would answer 200 with nothing scheduled.
  const unsupported = cfg.localStripe && preview.effective === 'period_end'
  $('change-warning').hidden = !unsupported
  $('change-confirm').disabled = unsupported
  $('change-dialog').showModal()
}
$('change-close').onclick = () => $('change-dialog').close()
$('change-confirm').onclick = async () => {
  $('change-dialog').close()
  try {
    const s = await client.confirmChange(preview)
    result('change-plan: ok', s)
  } catch (err) {
    if (err instanceof PaymentFailedError) {
      // The plan did not change: the user pays at Stripe's hosted invoice page.
      result(`change-plan: HTTP 402 payment_failed, pay at ${err.hostedInvoiceUrl}`, err.body, true)
    } else if (err instanceof BillingError) {
      result(`change-plan: HTTP ${err.status} ${err.code}`, err.body ?? err.message, true)
    } else {
      result('change-plan: failed', String(err), true)
    }
  }
  await refreshWebhooks()
  const s = await client.refresh().catch(() => null)
  if (s) show(s)
}

async function advance(outcome) {
  try {
    const out = await localStripe('/advance', { user: userId, outcome })
    result('local Stripe: period ended', out)
  } catch (err) {
    result(`local Stripe advance: HTTP ${err.status}`, err.local ?? String(err), true)
  }
  await refreshWebhooks()
  const s = await client.checkSubscription().catch(() => null)
  if (s) show(s)
}
// A plan change the customer makes in the Billing Portal: Stripe changes
// the price and sends customer.subscription.updated; the webhook applies it.
$('portal-change').onclick = async () => {
  try {
    const out = await localStripe('/change-price', { user: userId, price: cfg.prices[$('portal-plan').value] })
    result('local Stripe: plan changed in the portal', out)
  } catch (err) {
    result(`local Stripe change-price: HTTP ${err.status}`, err.local ?? String(err), true)
  }
  await refreshWebhooks()
  const s = await client.checkSubscription().catch(() => null)
  if (s) show(s)
}
$('advance').onclick = () => advance('renew')
$('advance-fail').onclick = () => advance('fail')

$('consume').onclick = async () => {
  const res = await fetch('/rest/v1/rpc/consume_usage', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + (token ?? '') },
    body: JSON.stringify({ p_counter: 'properties' }),
  })
  const out = await res.json()
  $('usage').textContent = res.ok ? `allowed=${out.allowed} used=${out.used} limit=${out.limit ?? 'unlimited'}` : `HTTP ${res.status} ${out.error}`
  $('usage').dataset.allowed = String(out.allowed)
  result(`consume_usage: HTTP ${res.status}`, out, !res.ok)
}

if (!cfg.localStripe) {
  for (const id of ['pay', 'advance', 'advance-fail', 'portal-change']) $(id).disabled = true
}
await refreshWebhooks()
// Events arrive after the answers that caused them: keep the list current.
if (cfg.localStripe) {
  let busy = false
  setInterval(async () => {
    if (busy) return
    busy = true
    try { await refreshWebhooks() } catch {} finally { busy = false }
  }, 1000)
}
document.body.dataset.ready = 'true'
