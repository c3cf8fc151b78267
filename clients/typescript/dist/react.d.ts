import type { ReactNode } from 'react';
import { BillingClient, BillingError, PaymentFailedError } from './index.js';
import type { ChangePlanPreview, CheckoutParams, PortalParams, SubscriptionState, WaitForPlanOptions } from './index.js';
/** Makes client available to the hooks below it. */
export declare function BillingProvider(props: {
    client: BillingClient;
    children?: ReactNode;
}): import("react").FunctionComponentElement<import("react").ProviderProps<BillingClient | null>>;
/** The BillingClient of the nearest BillingProvider. */
export declare function useBillingClient(): BillingClient;
/** What useSubscription returns. */
export interface SubscriptionHook {
    data: SubscriptionState | null;
    error: BillingError | null;
    loading: boolean;
    refetch: () => Promise<void>;
}
/**
 * The caller's check-subscription state: fetched on mount, when the window
 * gets focus again, and replaced by the answer of every billing action of
 * the same client. A 401 is in error (error.isAuthError), never swallowed.
 */
export declare function useSubscription(): SubscriptionHook;
/** What useBillingActions returns. */
export interface BillingActions {
    /** Starts a checkout for plan and sends the browser to Stripe Checkout. */
    startCheckout: (plan: string, opts?: Omit<CheckoutParams, 'plan'>) => Promise<void>;
    /** Opens the Stripe Billing Portal. */
    openPortal: (opts?: PortalParams) => Promise<void>;
    /** Cancels at the period's end, with a Stripe feedback value as reason. */
    cancel: (reason?: string, comment?: string) => Promise<SubscriptionState | undefined>;
    /** Undoes a scheduled cancel. */
    resume: () => Promise<SubscriptionState | undefined>;
    /** What a change to plan would cost (nothing changes). */
    previewChange: (plan: string) => Promise<ChangePlanPreview | undefined>;
    /**
     * Changes to plan; pass the preview to be charged what it showed. The
     * state is refetched afterwards (also after a failure). A failed upgrade
     * payment sets paymentFailed (hostedInvoiceUrl) and error.
     */
    changePlan: (plan: string, preview?: ChangePlanPreview) => Promise<SubscriptionState | undefined>;
    /** The last changePlan's 402: the plan did not change; send the user to hostedInvoiceUrl. */
    paymentFailed: PaymentFailedError | null;
    /** The action running now, if any. */
    pending: 'checkout' | 'portal' | 'cancel' | 'resume' | 'preview' | 'changePlan' | null;
    /** The last action's error (cleared by the next action). */
    error: BillingError | null;
}
/**
 * The billing actions. cancel, resume and changePlan update every
 * useSubscription of the same client with their answer.
 */
export declare function useBillingActions(navigate?: (url: string) => void): BillingActions;
/** The state of the success page. */
export interface CheckoutSuccessHook {
    status: 'syncing' | 'active' | 'timeout' | 'error';
    data: SubscriptionState | null;
    error: BillingError | null;
}
/**
 * For the page Stripe Checkout returns to: syncs the caller from Stripe
 * (the user-scoped reconcile) and polls until the plan is active, at most
 * opts.timeoutMs (30 s); then status is "timeout": say that the payment is
 * being confirmed and offer a reload, rather than showing the free plan.
 */
export declare function useCheckoutSuccess(opts?: WaitForPlanOptions): CheckoutSuccessHook;
