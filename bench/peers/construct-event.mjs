// The peers' webhook CPU path: stripe-node's webhooks.constructEvent (HMAC
// over the raw body, then JSON.parse) on the 4 KB fixture the peers were
// measured on, signed with whsec_test_secret, on one thread. Prints one
// line per run: events/s and microseconds per event.
//
//   node construct-event.mjs [fixture] [seconds] [runs]
import { readFileSync } from 'node:fs'
import Stripe from 'stripe'

const fixture = process.argv[2] || '../../functions/handle-stripe-webhook/webhook/testdata/peer-bench/customer.subscription.updated.json'
const seconds = Number(process.argv[3] ?? 2)
const runs = Number(process.argv[4] ?? 3)
const secret = 'whsec_test_secret'
const body = readFileSync(fixture)
const stripe = new Stripe('sk_test_peer_bench')
const header = stripe.webhooks.generateTestHeaderString({ payload: body.toString('utf8'), secret })

const plans = new Map([['price_1QAbCdEfGhIjKlMnOpQrStUv', 'standard']])
function once () {
  const ev = stripe.webhooks.constructEvent(body, header, secret)
  // The plan lookup our Go path makes too.
  const plan = plans.get(ev.data.object.items.data[0].price.id)
  if (plan !== 'standard') throw new Error('plan lookup failed')
}

for (let i = 0; i < 20000; i++) once() // warm up the JIT
for (let r = 0; r < runs; r++) {
  let n = 0
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(seconds * 1e9))
  let now = start
  while (now < end) {
    for (let i = 0; i < 1000; i++) once()
    n += 1000
    now = process.hrtime.bigint()
  }
  const ns = Number(now - start)
  console.log(`node ${process.version} constructEvent: ${Math.round(n / (ns / 1e9))} events/s, ${(ns / n / 1000).toFixed(2)} us/event`)
}
