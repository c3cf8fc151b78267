/** The body of check-subscription, cancel-subscription, resume-subscription, change-plan and the user-scoped reconcile. */
export interface SubscriptionState {
    subscribed: boolean;
    isSubscribed: boolean;
    plan: string;
    planType: string | null;
    status: string | null;
    cancelAtPeriodEnd: boolean;
    currentPeriodEnd: string | null;
    renewalDate: string | null;
    accessUntil: string | null;
    entitlements: Record<string, boolean>;
    /** has<PascalCase(entitlement)> for every entitlement of the catalog. */
    [entitlement: `has${string}`]: boolean;
    limits: Record<string, number | null>;
    usage: Record<string, UsageCounter>;
    scheduledPlan: string | null;
    scheduledChangeAt: string | null;
}
/** One usage counter: a cap (what the user holds, never resets) or monthly (resetsAt: the next reset; only for monthly). limit and remaining are null when unlimited. */
export interface UsageCounter {
    kind: "cap" | "monthly";
    used: number;
    limit: number | null;
    remaining: number | null;
    resetsAt?: string;
}
/** The body of create-checkout-session. */
export interface CheckoutParams {
    plan: string;
    successPath?: string;
    cancelPath?: string;
    promotionCodes?: boolean | null;
}
/** The answer of create-checkout-session. */
export interface CheckoutResponse {
    sessionId: string;
    url: string;
}
/** The body of cancel-subscription (reason: a Stripe cancellation_details.feedback value). */
export interface CancelParams {
    reason?: string;
    comment?: string;
}
/** The body of create-portal-session. */
export interface PortalParams {
    returnPath?: string;
}
/** The answer of create-portal-session. */
export interface PortalResponse {
    url: string;
}
/** The body of change-plan: preview, then change with the preview's prorationDate. */
export interface ChangePlanParams {
    plan: string;
    preview?: boolean;
    prorationDate?: number | null;
}
/** The answer of change-plan with preview: true (amounts in the currency's smallest unit). */
export interface ChangePlanPreview {
    plan: string;
    currentPlan: string;
    change: "cancel_scheduled_change" | "downgrade" | "upgrade";
    effective: "now" | "period_end";
    effectiveAt: string;
    amountDue: number;
    currency: string;
    prorationDate: number;
    lines: ChangePlanLine[];
    nextRenewal: ChangePlanRenewal | null;
}
/** One proration line of a ChangePlanPreview. */
export interface ChangePlanLine {
    description: string;
    amount: number;
    periodStart?: string;
    periodEnd?: string;
}
/** The next regular invoice after a plan change. */
export interface ChangePlanRenewal {
    amount: number;
    currency: string;
    date: string;
}
/** The 402 body of change-plan: the upgrade's payment failed, the plan did not change; pay at hostedInvoiceUrl. */
export interface PaymentFailedBody {
    error: "payment_failed";
    message: string;
    invoiceId: string;
    hostedInvoiceUrl: string;
}
/** The answer of make dev's POST /dev/token. */
export interface DevTokenResponse {
    userId: string;
    email: string;
    access_token: string;
}
/** Every stable error code a function answers with. */
export type ErrorCode = "already_subscribed" | "change_pending_payment" | "checkout_in_progress" | "conflict" | "forbidden" | "free_plan" | "internal_error" | "invalid_request" | "invalid_signature" | "invalid_token" | "method_not_allowed" | "missing_token" | "no_customer" | "no_subscription" | "not_a_user_token" | "not_found" | "not_resumable" | "payload_too_large" | "payment_failed" | "preview_expired" | "rate_limited" | "same_plan" | "stripe_error" | "subscription_canceled" | "subscription_ending" | "subscription_incomplete" | "subscription_needs_payment" | "subscription_past_due" | "subscription_paused" | "subscription_unpaid" | "token_expired" | "unavailable" | "unknown_plan" | "unknown_price" | "unsupported_media_type";
/** The JSON body of every error answer. */
export interface ErrorBody {
    error: ErrorCode;
    message: string;
}
