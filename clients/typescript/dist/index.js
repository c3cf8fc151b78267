// The TypeScript client of the billing functions: plain fetch, typed
// requests, responses and error codes (src/types.gen.ts, generated from and
// tested against the Go structs). React hooks are in ./react.
/**
 * The token of the app's Supabase session (supabase-js refreshes an expired
 * one in getSession). Never the anon key: the functions answer
 * not_a_user_token to it.
 */
export function supabaseToken(supabase) {
    return async () => (await supabase.auth.getSession()).data.session?.access_token ?? null;
}
/** Codes of the 401 answers: the token is missing, bad, expired or not a user's. */
export const authErrorCodes = ['missing_token', 'invalid_token', 'token_expired', 'not_a_user_token'];
/** An error answer of a function (or a call that never reached one). */
export class BillingError extends Error {
    constructor(status, code, message, body, retryAfter = null) {
        super(message);
        this.name = 'BillingError';
        this.status = status;
        this.code = code;
        this.body = body;
        this.retryAfter = retryAfter;
    }
    /** True for a missing, invalid, expired or wrong kind of token: sign in again. */
    get isAuthError() {
        return authErrorCodes.includes(this.code);
    }
}
/**
 * change-plan's 402: the upgrade's payment failed (declined, or 3-D Secure
 * needed) and the plan did NOT change. Send the user to hostedInvoiceUrl,
 * Stripe's page to pay the invoice; the new plan applies when it is paid.
 */
export class PaymentFailedError extends BillingError {
    constructor(body) {
        super(402, body.error, body.message, body);
        this.name = 'PaymentFailedError';
        this.invoiceId = body.invoiceId;
        this.hostedInvoiceUrl = body.hostedInvoiceUrl;
    }
}
/** The client of the billing functions. */
export class BillingClient {
    constructor(opts) {
        this.listeners = new Set();
        this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
        this.getToken = opts.getToken;
        this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    }
    /** The caller's plan, status, access flags and limits. */
    checkSubscription() {
        return this.call('check-subscription', 'GET');
    }
    /** A Stripe Checkout Session for plan; send the browser to its url. */
    createCheckoutSession(params) {
        return this.call('create-checkout-session', 'POST', params);
    }
    /** Cancel at the period's end; access stays until then. */
    async cancelSubscription(params = {}) {
        return this.changed(await this.call('cancel-subscription', 'POST', params));
    }
    /** Undo a scheduled cancel (409 not_resumable when there is none). */
    async resumeSubscription() {
        return this.changed(await this.call('resume-subscription', 'POST', {}));
    }
    /** What a change to plan costs and when it takes effect (nothing changes). */
    previewChange(plan) {
        return this.call('change-plan', 'POST', { plan, preview: true });
    }
    async changePlan(plan, opts = {}) {
        if (opts.preview)
            return this.previewChange(plan);
        const params = { plan };
        if (opts.prorationDate !== undefined)
            params.prorationDate = opts.prorationDate;
        return this.changed(await this.call('change-plan', 'POST', params));
    }
    /** Makes the change a preview showed, at its price. */
    confirmChange(preview) {
        return this.changePlan(preview.plan, { prorationDate: preview.prorationDate });
    }
    /** Reads check-subscription and tells the listeners (after an action whose answer is not the state). */
    async refresh() {
        return this.changed(await this.checkSubscription());
    }
    /** A Stripe Billing Portal session; send the browser to its url. */
    createPortalSession(params = {}) {
        return this.call('create-portal-session', 'POST', params);
    }
    /** Sync the caller's subscriptions from Stripe now (the success page's call). */
    async reconcile() {
        return this.changed(await this.call('reconcile-subscriptions', 'POST', {}));
    }
    /**
     * The success page's helper: reconcile once (the webhook may not have
     * arrived), then poll check-subscription until the plan is active, for at
     * most timeoutMs. Errors other than a timeout are thrown.
     */
    async waitForPlan(opts = {}) {
        const timeout = opts.timeoutMs ?? 30000;
        const interval = opts.intervalMs ?? 1500;
        const deadline = Date.now() + timeout;
        const done = (s) => s.subscribed && (opts.plan === undefined || s.plan === opts.plan);
        let state = await this.reconcile();
        while (!done(state)) {
            if (Date.now() + interval > deadline) {
                return { status: 'timeout', state };
            }
            await sleep(interval, opts.signal);
            state = await this.checkSubscription();
        }
        this.changed(state);
        return { status: 'active', state };
    }
    /** Calls fn with the new state after every billing action; returns the unsubscribe. */
    onChange(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }
    changed(state) {
        for (const fn of this.listeners)
            fn(state);
        return state;
    }
    /** One call: the token, JSON in and out, errors as BillingError. */
    async call(name, method, body) {
        const token = await this.getToken();
        if (!token) {
            // The same body the functions answer a call without a token with.
            const message = 'No signed-in session: sign in before calling ' + name + '.';
            throw new BillingError(401, 'missing_token', message, { error: 'missing_token', message });
        }
        const headers = { Authorization: 'Bearer ' + token };
        let payload;
        if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
            payload = JSON.stringify(body);
        }
        let res;
        try {
            res = await this.fetchFn(this.baseUrl + '/' + name, { method, headers, body: payload });
        }
        catch (err) {
            throw new BillingError(0, 'network_error', 'The billing service could not be reached: ' + String(err), null);
        }
        const text = await res.text();
        let json = null;
        try {
            json = text ? JSON.parse(text) : null;
        }
        catch {
            json = null;
        }
        if (!res.ok) {
            const eb = isErrorBody(json) ? json : null;
            if (res.status === 402 && isPaymentFailed(json))
                throw new PaymentFailedError(json);
            const retry = res.headers.get('Retry-After');
            throw new BillingError(res.status, eb?.error ?? 'internal_error', eb?.message ?? `HTTP ${res.status} from ${name}`, eb, retry ? Number(retry) : null);
        }
        return json;
    }
}
function isErrorBody(v) {
    return typeof v === 'object' && v !== null && typeof v.error === 'string' && typeof v.message === 'string';
}
function isPaymentFailed(v) {
    return isErrorBody(v) && v.error === 'payment_failed' && typeof v.hostedInvoiceUrl === 'string';
}
function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
        if (signal?.aborted)
            return reject(signal.reason);
        const t = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(signal.reason);
        }, { once: true });
    });
}
