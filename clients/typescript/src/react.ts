// React hooks over BillingClient: the subscription state (refetched on
// focus and after every billing action), the billing actions, and the
// success page's wait for the paid plan.

import { createContext, createElement, useCallback, useContext, useEffect, useRef, useState } from 'react'
import type { ReactNode } from 'react'

import { BillingClient, BillingError, PaymentFailedError } from './index.js'
import type { ChangePlanPreview, CheckoutParams, PortalParams, SubscriptionState, WaitForPlanOptions } from './index.js'

const BillingContext = createContext<BillingClient | null>(null)

/** Makes client available to the hooks below it. */
export function BillingProvider(props: { client: BillingClient; children?: ReactNode }) {
  return createElement(BillingContext.Provider, { value: props.client }, props.children)
}

/** The BillingClient of the nearest BillingProvider. */
export function useBillingClient(): BillingClient {
  const c = useContext(BillingContext)
  if (!c) throw new Error('useBillingClient: wrap the app in <BillingProvider client={...}>')
  return c
}

/** What useSubscription returns. */
export interface SubscriptionHook {
  data: SubscriptionState | null
  error: BillingError | null
  loading: boolean
  refetch: () => Promise<void>
}

/**
 * The caller's check-subscription state: fetched on mount, when the window
 * gets focus again, and replaced by the answer of every billing action of
 * the same client. A 401 is in error (error.isAuthError), never swallowed.
 */
export function useSubscription(): SubscriptionHook {
  const client = useBillingClient()
  const [data, setData] = useState<SubscriptionState | null>(null)
  const [error, setError] = useState<BillingError | null>(null)
  const [loading, setLoading] = useState(true)
  const mounted = useRef(true)

  const refetch = useCallback(async () => {
    setLoading(true)
    try {
      const s = await client.checkSubscription()
      if (mounted.current) {
        setData(s)
        setError(null)
      }
    } catch (err) {
      if (mounted.current) setError(asBillingError(err))
    } finally {
      if (mounted.current) setLoading(false)
    }
  }, [client])

  useEffect(() => {
    mounted.current = true
    void refetch()
    const onFocus = () => void refetch()
    window.addEventListener('focus', onFocus)
    const off = client.onChange((s) => {
      setData(s)
      setError(null)
    })
    return () => {
      mounted.current = false
      window.removeEventListener('focus', onFocus)
      off()
    }
  }, [client, refetch])

  return { data, error, loading, refetch }
}

/** What useBillingActions returns. */
export interface BillingActions {
  /** Starts a checkout for plan and sends the browser to Stripe Checkout. */
  startCheckout: (plan: string, opts?: Omit<CheckoutParams, 'plan'>) => Promise<void>
  /** Opens the Stripe Billing Portal. */
  openPortal: (opts?: PortalParams) => Promise<void>
  /** Cancels at the period's end, with a Stripe feedback value as reason. */
  cancel: (reason?: string, comment?: string) => Promise<SubscriptionState | undefined>
  /** Undoes a scheduled cancel. */
  resume: () => Promise<SubscriptionState | undefined>
  /** What a change to plan would cost (nothing changes). */
  previewChange: (plan: string) => Promise<ChangePlanPreview | undefined>
  /**
   * Changes to plan; pass the preview to be charged what it showed. The
   * state is refetched afterwards (also after a failure). A failed upgrade
   * payment sets paymentFailed (hostedInvoiceUrl) and error.
   */
  changePlan: (plan: string, preview?: ChangePlanPreview) => Promise<SubscriptionState | undefined>
  /** The last changePlan's 402: the plan did not change; send the user to hostedInvoiceUrl. */
  paymentFailed: PaymentFailedError | null
  /** The action running now, if any. */
  pending: 'checkout' | 'portal' | 'cancel' | 'resume' | 'preview' | 'changePlan' | null
  /** The last action's error (cleared by the next action). */
  error: BillingError | null
}

/**
 * The billing actions. cancel, resume and changePlan update every
 * useSubscription of the same client with their answer.
 */
export function useBillingActions(navigate: (url: string) => void = (url) => window.location.assign(url)): BillingActions {
  const client = useBillingClient()
  const [pending, setPending] = useState<BillingActions['pending']>(null)
  const [error, setError] = useState<BillingError | null>(null)
  const [paymentFailed, setPaymentFailed] = useState<PaymentFailedError | null>(null)

  const run = useCallback(async <T>(name: NonNullable<BillingActions['pending']>, fn: () => Promise<T>): Promise<T | undefined> => {
    setPending(name)
    setError(null)
    setPaymentFailed(null)
    try {
      return await fn()
    } catch (err) {
      setError(asBillingError(err))
      if (err instanceof PaymentFailedError) setPaymentFailed(err)
      return undefined
    } finally {
      setPending(null)
    }
  }, [])

  return {
    startCheckout: async (plan, opts = {}) => {
      const res = await run('checkout', () => client.createCheckoutSession({ ...opts, plan }))
      if (res) navigate(res.url)
    },
    openPortal: async (opts = {}) => {
      const res = await run('portal', () => client.createPortalSession(opts))
      if (res) navigate(res.url)
    },
    cancel: (reason, comment) => run('cancel', () => client.cancelSubscription({ reason, comment })),
    resume: () => run('resume', () => client.resumeSubscription()),
    previewChange: (plan) => run('preview', () => client.previewChange(plan)),
    changePlan: (plan, preview) => run('changePlan', async () => {
      try {
        return await client.changePlan(plan, preview ? { prorationDate: preview.prorationDate } : {})
      } finally {
        // The webhook may land a moment later, and a 402 changes nothing
        // here: read the state again either way.
        await client.refresh().catch(() => undefined)
      }
    }),
    paymentFailed,
    pending,
    error,
  }
}

/** The state of the success page. */
export interface CheckoutSuccessHook {
  status: 'syncing' | 'active' | 'timeout' | 'error'
  data: SubscriptionState | null
  error: BillingError | null
}

/**
 * For the page Stripe Checkout returns to: syncs the caller from Stripe
 * (the user-scoped reconcile) and polls until the plan is active, at most
 * opts.timeoutMs (30 s); then status is "timeout": say that the payment is
 * being confirmed and offer a reload, rather than showing the free plan.
 */
export function useCheckoutSuccess(opts: WaitForPlanOptions = {}): CheckoutSuccessHook {
  const client = useBillingClient()
  const [state, setState] = useState<CheckoutSuccessHook>({ status: 'syncing', data: null, error: null })
  const { plan, timeoutMs, intervalMs } = opts
  useEffect(() => {
    const ctl = new AbortController()
    client.waitForPlan({ plan, timeoutMs, intervalMs, signal: ctl.signal }).then(
      (r) => setState({ status: r.status, data: r.state, error: null }),
      (err) => {
        if (!ctl.signal.aborted) setState({ status: 'error', data: null, error: asBillingError(err) })
      },
    )
    return () => ctl.abort()
  }, [client, plan, timeoutMs, intervalMs])
  return state
}

function asBillingError(err: unknown): BillingError {
  if (err instanceof BillingError) return err
  return new BillingError(0, 'network_error', String(err), null)
}
