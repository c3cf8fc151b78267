/** The body of check-subscription, cancel-subscription, resume-subscription and the user-scoped reconcile. */
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
}
/** The body of create-checkout-session. */
export interface CheckoutParams {
    plan: string;
    successPath?: string;
    cancelPath?: string;
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
/** The answer of make dev's POST /dev/token. */
export interface DevTokenResponse {
    userId: string;
    email: string;
    access_token: string;
}
/** Every stable error code a function answers with. */
export type ErrorCode = "already_subscribed" | "checkout_in_progress" | "conflict" | "forbidden" | "internal_error" | "invalid_request" | "invalid_signature" | "invalid_token" | "method_not_allowed" | "missing_token" | "no_customer" | "no_subscription" | "not_a_user_token" | "not_found" | "not_resumable" | "payload_too_large" | "rate_limited" | "stripe_error" | "token_expired" | "unavailable" | "unknown_price" | "unsupported_media_type";
/** The JSON body of every error answer. */
export interface ErrorBody {
    error: ErrorCode;
    message: string;
}
