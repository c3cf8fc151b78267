// React hooks over BillingClient: the subscription state (refetched on
// focus and after every billing action), the billing actions, and the
// success page's wait for the paid plan.
import { createContext, createElement, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { BillingError, PaymentFailedError } from './index.js';
const BillingContext = createContext(null);
/** Makes client available to the hooks below it. */
export function BillingProvider(props) {
    return createElement(BillingContext.Provider, { value: props.client }, props.children);
}
/** The BillingClient of the nearest BillingProvider. */
export function useBillingClient() {
    const c = useContext(BillingContext);
    if (!c)
        throw new Error('useBillingClient: wrap the app in <BillingProvider client={...}>');
    return c;
}
/**
 * The caller's check-subscription state: fetched on mount, when the window
 * gets focus again, and replaced by the answer of every billing action of
 * the same client. A 401 is in error (error.isAuthError), never swallowed.
 */
export function useSubscription() {
    const client = useBillingClient();
    const [data, setData] = useState(null);
    const [error, setError] = useState(null);
    const [loading, setLoading] = useState(true);
    const mounted = useRef(true);
    const refetch = useCallback(async () => {
        setLoading(true);
        try {
            const s = await client.checkSubscription();
            if (mounted.current) {
                setData(s);
                setError(null);
            }
        }
        catch (err) {
            if (mounted.current)
                setError(asBillingError(err));
        }
        finally {
            if (mounted.current)
                setLoading(false);
        }
    }, [client]);
    useEffect(() => {
        mounted.current = true;
        void refetch();
        const onFocus = () => void refetch();
        window.addEventListener('focus', onFocus);
        const off = client.onChange((s) => {
            setData(s);
            setError(null);
        });
        return () => {
            mounted.current = false;
            window.removeEventListener('focus', onFocus);
            off();
        };
    }, [client, refetch]);
    return { data, error, loading, refetch };
}
/**
 * The billing actions. cancel, resume and changePlan update every
 * useSubscription of the same client with their answer.
 */
export function useBillingActions(navigate = (url) => window.location.assign(url)) {
    const client = useBillingClient();
    const [pending, setPending] = useState(null);
    const [error, setError] = useState(null);
    const [paymentFailed, setPaymentFailed] = useState(null);
    const run = useCallback(async (name, fn) => {
        setPending(name);
        setError(null);
        setPaymentFailed(null);
        try {
            return await fn();
        }
        catch (err) {
            setError(asBillingError(err));
            if (err instanceof PaymentFailedError)
                setPaymentFailed(err);
            return undefined;
        }
        finally {
            setPending(null);
        }
    }, []);
    return {
        startCheckout: async (plan, opts = {}) => {
            const res = await run('checkout', () => client.createCheckoutSession({ ...opts, plan }));
            if (res)
                navigate(res.url);
        },
        openPortal: async (opts = {}) => {
            const res = await run('portal', () => client.createPortalSession(opts));
            if (res)
                navigate(res.url);
        },
        cancel: (reason, comment) => run('cancel', () => client.cancelSubscription({ reason, comment })),
        resume: () => run('resume', () => client.resumeSubscription()),
        previewChange: (plan) => run('preview', () => client.previewChange(plan)),
        changePlan: (plan, preview) => run('changePlan', async () => {
            try {
                return await client.changePlan(plan, preview ? { prorationDate: preview.prorationDate } : {});
            }
            finally {
                // The webhook may land a moment later, and a 402 changes nothing
                // here: read the state again either way.
                await client.refresh().catch(() => undefined);
            }
        }),
        paymentFailed,
        pending,
        error,
    };
}
/**
 * For the page Stripe Checkout returns to: syncs the caller from Stripe
 * (the user-scoped reconcile) and polls until the plan is active, at most
 * opts.timeoutMs (30 s); then status is "timeout": say that the payment is
 * being confirmed and offer a reload, rather than showing the free plan.
 */
export function useCheckoutSuccess(opts = {}) {
    const client = useBillingClient();
    const [state, setState] = useState({ status: 'syncing', data: null, error: null });
    const { plan, timeoutMs, intervalMs } = opts;
    useEffect(() => {
        const ctl = new AbortController();
        client.waitForPlan({ plan, timeoutMs, intervalMs, signal: ctl.signal }).then((r) => setState({ status: r.status, data: r.state, error: null }), (err) => {
            if (!ctl.signal.aborted)
                setState({ status: 'error', data: null, error: asBillingError(err) });
        });
        return () => ctl.abort();
    }, [client, plan, timeoutMs, intervalMs]);
    return state;
}
function asBillingError(err) {
    if (err instanceof BillingError)
        return err;
    return new BillingError(0, 'network_error', String(err), null);
}
