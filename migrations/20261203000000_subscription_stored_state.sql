-- billing_subscription_state_at also answers what is stored ------------------

-- billing_subscription_state_at returns the Stripe time of the stored state
-- of one subscription and, when it is stored, the fields an apply writes:
-- {"state_at": RFC 3339 or null when not stored, "stored": {status,
-- customer_id, price_id, plan, quantity, current_period_start,
-- current_period_end, cancel_at_period_end, cancel_at, canceled_at,
-- ended_at, trial_start, trial_end, cancellation_reason,
-- cancellation_feedback, cancellation_comment} or null}.
--
-- Cancel and resume read it when Stripe's answer was not later than the
-- stored state. When the stored fields are already those of the answer (the
-- change's own webhook event won the race, as it does whenever the webhook
-- answers faster than our call returns), applying the answer would change
-- nothing, so no wait and fresh read is needed; otherwise a short wait and a
-- fresh read can apply it (stripesync.ApplyOwnWrite).
create or replace function public.billing_subscription_state_at(p_subscription_id text)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(
    (select jsonb_build_object(
       'state_at', public.billing_rfc3339(s.state_at),
       'stored', jsonb_build_object(
         'status', s.status, 'customer_id', s.customer_id, 'price_id', s.price_id, 'plan', s.plan,
         'quantity', s.quantity,
         'current_period_start', public.billing_rfc3339(s.current_period_start),
         'current_period_end', public.billing_rfc3339(s.current_period_end),
         'cancel_at_period_end', s.cancel_at_period_end,
         'cancel_at', public.billing_rfc3339(s.cancel_at),
         'canceled_at', public.billing_rfc3339(s.canceled_at),
         'ended_at', public.billing_rfc3339(s.ended_at),
         'trial_start', public.billing_rfc3339(s.trial_start),
         'trial_end', public.billing_rfc3339(s.trial_end),
         'cancellation_reason', s.cancellation_reason,
         'cancellation_feedback', s.cancellation_feedback,
         'cancellation_comment', s.cancellation_comment))
     from public.subscriptions s where s.id = p_subscription_id),
    jsonb_build_object('state_at', null, 'stored', null))
$$;

revoke all on function public.billing_subscription_state_at(text) from public, anon, authenticated;
grant execute on function public.billing_subscription_state_at(text) to service_role;
