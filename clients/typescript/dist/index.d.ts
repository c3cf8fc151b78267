import type { CancelParams, ChangePlanPreview, CheckoutParams, CheckoutResponse, ErrorBody, ErrorCode, PaymentFailedBody, PortalParams, PortalResponse, SubscriptionState } from './types.gen.js';
export type { CancelParams, ChangePlanLine, ChangePlanParams, ChangePlanPreview, ChangePlanRenewal, CheckoutParams, CheckoutResponse, DevTokenResponse, ErrorBody, ErrorCode, PaymentFailedBody, PortalParams, PortalResponse, SubscriptionState, UsageCounter, } from './types.gen.js';
/** Returns the signed-in user's access token (null or empty when signed out). */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;
/** The part of a Supabase client the token source uses. */
export interface SupabaseAuthLike {
    auth: {
        getSession(): Promise<{
            data: {
                session: {
                    access_token: string;
                } | null;
            };
        }>;
    };
}
/**
 * The token of the app's Supabase session (supabase-js refreshes an expired
 * one in getSession). Never the anon key: the functions answer
 * not_a_user_token to it.
 */
export declare function supabaseToken(supabase: SupabaseAuthLike): TokenSource;
/** Options of a BillingClient. */
export interface BillingClientOptions {
    /** The functions' base URL, e.g. http://127.0.0.1:54321/functions/v1 or the API Gateway's. */
    baseUrl: string;
    /** The signed-in user's access token, asked before every call. */
    getToken: TokenSource;
    /** fetch to use (default: the global one). */
    fetch?: typeof fetch;
}
/** Codes of the 401 answers: the token is missing, bad, expired or not a user's. */
export declare const authErrorCodes: readonly ErrorCode[];
/** An error answer of a function (or a call that never reached one). */
export declare class BillingError extends Error {
    /** The HTTP status; 0 when the function could not be reached. */
    readonly status: number;
    /** The stable error code (ErrorCode), or "network_error". */
    readonly code: ErrorCode | 'network_error';
    /** The error body as the function sent it (null for a network error). */
    readonly body: ErrorBody | null;
    /** Seconds to wait before retrying (a 429's Retry-After). */
    readonly retryAfter: number | null;
    constructor(status: number, code: ErrorCode | 'network_error', message: string, body: ErrorBody | null, retryAfter?: number | null);
    /** True for a missing, invalid, expired or wrong kind of token: sign in again. */
    get isAuthError(): boolean;
}
/**
 * change-plan's 402: the upgrade's payment failed (declined, or 3-D Secure
 * needed) and the plan did NOT change. Send the user to hostedInvoiceUrl,
 * Stripe's page to pay the invoice; the new plan applies when it is paid.
 */
export declare class PaymentFailedError extends BillingError {
    readonly body: PaymentFailedBody;
    /** The invoice of the upgrade. */
    readonly invoiceId: string;
    /** Stripe's hosted page where the user pays it. */
    readonly hostedInvoiceUrl: string;
    constructor(body: PaymentFailedBody);
}
/** Options of changePlan. */
export interface ChangePlanOptions {
    /** Only ask what the change costs (previewChange); nothing changes. */
    preview?: boolean;
    /** The preview's prorationDate, so that the charge is the amount shown. */
    prorationDate?: number;
}
/** What changed after a billing action: the new state, for listeners. */
export type ChangeListener = (state: SubscriptionState) => void;
/** Options of waitForPlan, the success page's helper. */
export interface WaitForPlanOptions {
    /** The plan to wait for; default: any paid access (subscribed). */
    plan?: string;
    /** Give up after this long (default 30 s). */
    timeoutMs?: number;
    /** Poll interval (default 1.5 s). */
    intervalMs?: number;
    signal?: AbortSignal;
}
/** The outcome of waitForPlan. */
export type WaitForPlanResult = {
    status: 'active';
    state: SubscriptionState;
} | {
    status: 'timeout';
    state: SubscriptionState | null;
};
/** The client of the billing functions. */
export declare class BillingClient {
    private readonly baseUrl;
    private readonly getToken;
    private readonly fetchFn;
    private readonly listeners;
    constructor(opts: BillingClientOptions);
    /** The caller's plan, status, access flags and limits. */
    checkSubscription(): Promise<SubscriptionState>;
    /** A Stripe Checkout Session for plan; send the browser to its url. */
    createCheckoutSession(params: CheckoutParams): Promise<CheckoutResponse>;
    /** Cancel at the period's end; access stays until then. */
    cancelSubscription(params?: CancelParams): Promise<SubscriptionState>;
    /** Undo a scheduled cancel (409 not_resumable when there is none). */
    resumeSubscription(): Promise<SubscriptionState>;
    /** What a change to plan costs and when it takes effect (nothing changes). */
    previewChange(plan: string): Promise<ChangePlanPreview>;
    /**
     * Changes the subscription to plan (an upgrade at once, a downgrade at the
     * period end) and answers with the new state; with preview: true, only
     * previews (as previewChange). Pass the preview's prorationDate to be
     * charged what it showed. A failed upgrade payment throws
     * PaymentFailedError (402, with hostedInvoiceUrl).
     */
    changePlan(plan: string, opts: ChangePlanOptions & {
        preview: true;
    }): Promise<ChangePlanPreview>;
    changePlan(plan: string, opts?: ChangePlanOptions & {
        preview?: false;
    }): Promise<SubscriptionState>;
    /** Makes the change a preview showed, at its price. */
    confirmChange(preview: ChangePlanPreview): Promise<SubscriptionState>;
    /** Reads check-subscription and tells the listeners (after an action whose answer is not the state). */
    refresh(): Promise<SubscriptionState>;
    /** A Stripe Billing Portal session; send the browser to its url. */
    createPortalSession(params?: PortalParams): Promise<PortalResponse>;
    /** Sync the caller's subscriptions from Stripe now (the success page's call). */
    reconcile(): Promise<SubscriptionState>;
    /**
     * The success page's helper: reconcile once (the webhook may not have
     * arrived), then poll check-subscription until the plan is active, for at
     * most timeoutMs. Errors other than a timeout are thrown.
     */
    waitForPlan(opts?: WaitForPlanOptions): Promise<WaitForPlanResult>;
    /** Calls fn with the new state after every billing action; returns the unsubscribe. */
    onChange(fn: ChangeListener): () => void;
    private changed;
    /** One call: the token, JSON in and out, errors as BillingError. */
    private call;
}
