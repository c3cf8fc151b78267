// The TypeScript client of the billing functions: plain fetch, typed
// requests, responses and error codes (src/types.gen.ts, generated from and
// tested against the Go structs). React hooks are in ./react.

import type {
  CancelParams,
  ChangePlanParams,
  ChangePlanPreview,
  CheckoutParams,
  CheckoutResponse,
  ErrorBody,
  ErrorCode,
  PaymentFailedBody,
  PortalParams,
  PortalResponse,
  SubscriptionState,
} from './types.gen.js'

export type {
  CancelParams,
  ChangePlanLine,
  ChangePlanParams,
  ChangePlanPreview,
  ChangePlanRenewal,
  CheckoutParams,
  CheckoutResponse,
  DevTokenResponse,
  ErrorBody,
  ErrorCode,
  PaymentFailedBody,
  PortalParams,
  PortalResponse,
  SubscriptionState,
  UsageCounter,
} from './types.gen.js'

/** Returns the signed-in user's access token (null or empty when signed out). */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>

/** The part of a Supabase client the token source uses. */
export interface SupabaseAuthLike {
  auth: {
    getSession(): Promise<{ data: { session: { access_token: string } | null } }>
  }
}

/**
 * The token of the app's Supabase session (supabase-js refreshes an expired
 * one in getSession). Never the anon key: the functions answer
 * not_a_user_token to it.
 */
export function supabaseToken(supabase: SupabaseAuthLike): TokenSource {
  return async () => (await supabase.auth.getSession()).data.session?.access_token ?? null
}

/** Options of a BillingClient. */
export interface BillingClientOptions {
  /** The functions' base URL, e.g. http://127.0.0.1:54321/functions/v1 or the API Gateway's. */
  baseUrl: string
  /** The signed-in user's access token, asked before every call. */
  getToken: TokenSource
  /** fetch to use (default: the global one). */
  fetch?: typeof fetch
}

/** Codes of the 401 answers: the token is missing, bad, expired or not a user's. */
export const authErrorCodes: readonly ErrorCode[] = ['missing_token', 'invalid_token', 'token_expired', 'not_a_user_token']

/** An error answer of a function (or a call that never reached one). */
export class BillingError extends Error {
  /** The HTTP status; 0 when the function could not be reached. */
  readonly status: number
  /** The stable error code (ErrorCode), or "network_error". */
  readonly code: ErrorCode | 'network_error'
  /** The error body as the function sent it (null for a network error). */
  readonly body: ErrorBody | null
  /** Seconds to wait before retrying (a 429's Retry-After). */
  readonly retryAfter: number | null

  constructor(status: number, code: ErrorCode | 'network_error', message: string, body: ErrorBody | null, retryAfter: number | null = null) {
    super(message)
    this.name = 'BillingError'
    this.status = status
    this.code = code
    this.body = body
    this.retryAfter = retryAfter
  }

  /** True for a missing, invalid, expired or wrong kind of token: sign in again. */
  get isAuthError(): boolean {
    return authErrorCodes.includes(this.code as ErrorCode)
  }
}

/**
 * change-plan's 402: the upgrade's payment failed (declined, or 3-D Secure
 * needed) and the plan did NOT change. Send the user to hostedInvoiceUrl,
 * Stripe's page to pay the invoice; the new plan applies when it is paid.
 */
export class PaymentFailedError extends BillingError {
  declare readonly body: PaymentFailedBody
  /** The invoice of the upgrade. */
  readonly invoiceId: string
  /** Stripe's hosted page where the user pays it. */
  readonly hostedInvoiceUrl: string

  constructor(body: PaymentFailedBody) {
    super(402, body.error, body.message, body)
    this.name = 'PaymentFailedError'
    this.invoiceId = body.invoiceId
    this.hostedInvoiceUrl = body.hostedInvoiceUrl
  }
}

/** Options of changePlan. */
export interface ChangePlanOptions {
  /** Only ask what the change costs (previewChange); nothing changes. */
  preview?: boolean
  /** The preview's prorationDate, so that the charge is the amount shown. */
  prorationDate?: number
}

/** What changed after a billing action: the new state, for listeners. */
export type ChangeListener = (state: SubscriptionState) => void

/** Options of waitForPlan, the success page's helper. */
export interface WaitForPlanOptions {
  /** The plan to wait for; default: any paid access (subscribed). */
  plan?: string
  /** Give up after this long (default 30 s). */
  timeoutMs?: number
  /** Poll interval (default 1.5 s). */
  intervalMs?: number
  signal?: AbortSignal
}

/** The outcome of waitForPlan. */
export type WaitForPlanResult =
  | { status: 'active'; state: SubscriptionState }
  | { status: 'timeout'; state: SubscriptionState | null }

/** The client of the billing functions. */
export class BillingClient {
  private readonly baseUrl: string
  private readonly getToken: TokenSource
  private readonly fetchFn: typeof fetch
  private readonly listeners = new Set<ChangeListener>()

  constructor(opts: BillingClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.getToken = opts.getToken
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init))
  }

  /** The caller's plan, status, access flags and limits. */
  checkSubscription(): Promise<SubscriptionState> {
    return this.call<SubscriptionState>('check-subscription', 'GET')
  }

  /** A Stripe Checkout Session for plan; send the browser to its url. */
  createCheckoutSession(params: CheckoutParams): Promise<CheckoutResponse> {
    return this.call<CheckoutResponse>('create-checkout-session', 'POST', params)
  }

  /** Cancel at the period's end; access stays until then. */
  async cancelSubscription(params: CancelParams = {}): Promise<SubscriptionState> {
    return this.changed(await this.call<SubscriptionState>('cancel-subscription', 'POST', params))
  }

  /** Undo a scheduled cancel (409 not_resumable when there is none). */
  async resumeSubscription(): Promise<SubscriptionState> {
    return this.changed(await this.call<SubscriptionState>('resume-subscription', 'POST', {}))
  }

  /** What a change to plan costs and when it takes effect (nothing changes). */
  previewChange(plan: string): Promise<ChangePlanPreview> {
    return this.call<ChangePlanPreview>('change-plan', 'POST', { plan, preview: true } satisfies ChangePlanParams)
  }

  /**
   * Changes the subscription to plan (an upgrade at once, a downgrade at the
   * period end) and answers with the new state; with preview: true, only
   * previews (as previewChange). Pass the preview's prorationDate to be
   * charged what it showed. A failed upgrade payment throws
   * PaymentFailedError (402, with hostedInvoiceUrl).
   */
  changePlan(plan: string, opts: ChangePlanOptions & { preview: true }): Promise<ChangePlanPreview>
  changePlan(plan: string, opts?: ChangePlanOptions & { preview?: false }): Promise<SubscriptionState>
  async changePlan(plan: string, opts: ChangePlanOptions = {}): Promise<SubscriptionState | ChangePlanPreview> {
    if (opts.preview) return this.previewChange(plan)
    const params: ChangePlanParams = { plan }
    if (opts.prorationDate !== undefined) params.prorationDate = opts.prorationDate
    return this.changed(await this.call<SubscriptionState>('change-plan', 'POST', params))
  }

  /** Makes the change a preview showed, at its price. */
  confirmChange(preview: ChangePlanPreview): Promise<SubscriptionState> {
    return this.changePlan(preview.plan, { prorationDate: preview.prorationDate })
  }

  /** Reads check-subscription and tells the listeners (after an action whose answer is not the state). */
  async refresh(): Promise<SubscriptionState> {
    return this.changed(await this.checkSubscription())
  }

  /** A Stripe Billing Portal session; send the browser to its url. */
  createPortalSession(params: PortalParams = {}): Promise<PortalResponse> {
    return this.call<PortalResponse>('create-portal-session', 'POST', params)
  }

  /** Sync the caller's subscriptions from Stripe now (the success page's call). */
  async reconcile(): Promise<SubscriptionState> {
    return this.changed(await this.call<SubscriptionState>('reconcile-subscriptions', 'POST', {}))
  }

  /**
   * The success page's helper: reconcile once (the webhook may not have
   * arrived), then poll check-subscription until the plan is active, for at
   * most timeoutMs. Errors other than a timeout are thrown.
   */
  async waitForPlan(opts: WaitForPlanOptions = {}): Promise<WaitForPlanResult> {
    const timeout = opts.timeoutMs ?? 30_000
    const interval = opts.intervalMs ?? 1_500
    const deadline = Date.now() + timeout
    const done = (s: SubscriptionState) => s.subscribed && (opts.plan === undefined || s.plan === opts.plan)
    let state: SubscriptionState | null = await this.reconcile()
    while (!done(state)) {
      if (Date.now() + interval > deadline) {
        return { status: 'timeout', state }
      }
      await sleep(interval, opts.signal)
      state = await this.checkSubscription()
    }
    this.changed(state)
    return { status: 'active', state }
  }

  /** Calls fn with the new state after every billing action; returns the unsubscribe. */
  onChange(fn: ChangeListener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private changed(state: SubscriptionState): SubscriptionState {
    for (const fn of this.listeners) fn(state)
    return state
  }

  /** One call: the token, JSON in and out, errors as BillingError. */
  private async call<T>(name: string, method: 'GET' | 'POST', body?: object): Promise<T> {
    const token = await this.getToken()
    if (!token) {
      // The same body the functions answer a call without a token with.
      const message = 'No signed-in session: sign in before calling ' + name + '.'
      throw new BillingError(401, 'missing_token', message, { error: 'missing_token', message })
    }
    const headers: Record<string, string> = { Authorization: 'Bearer ' + token }
    let payload: string | undefined
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      payload = JSON.stringify(body)
    }
    let res: Response
    try {
      res = await this.fetchFn(this.baseUrl + '/' + name, { method, headers, body: payload })
    } catch (err) {
      throw new BillingError(0, 'network_error', 'The billing service could not be reached: ' + String(err), null)
    }
    const text = await res.text()
    let json: unknown = null
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      json = null
    }
    if (!res.ok) {
      const eb = isErrorBody(json) ? json : null
      if (res.status === 402 && isPaymentFailed(json)) throw new PaymentFailedError(json)
      const retry = res.headers.get('Retry-After')
      throw new BillingError(res.status, eb?.error ?? 'internal_error', eb?.message ?? `HTTP ${res.status} from ${name}`, eb,
        retry ? Number(retry) : null)
    }
    return json as T
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  return typeof v === 'object' && v !== null && typeof (v as ErrorBody).error === 'string' && typeof (v as ErrorBody).message === 'string'
}

function isPaymentFailed(v: unknown): v is PaymentFailedBody {
  return isErrorBody(v) && v.error === 'payment_failed' && typeof (v as PaymentFailedBody).hostedInvoiceUrl === 'string'
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      reject(signal.reason)
    }, { once: true })
  })
}
