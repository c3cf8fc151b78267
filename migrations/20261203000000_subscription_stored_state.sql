-- billing_subscription_state_at also answers what is stored ------------------

-- billing_stored_subscription_json, the one JSON shape of a stored
-- subscription, gains the columns an apply writes that it left out
-- (quantity, trial_start, trial_end, cancellation_feedback,
-- cancellation_comment), so that it holds every field an apply writes;
-- its other keys are as they were.
create or replace function public.billing_stored_subscription_json(p_id text)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'id', s.id,
    'user_id', s.user_id,
    'owner_id', coalesce(s.user_id, (select p.id from public.profiles p where p.stripe_customer_id = s.customer_id)),
    'customer_id', s.customer_id,
    'livemode', s.livemode,
    'status', s.status,
    'price_id', s.price_id,
    'plan', s.plan,
    'quantity', s.quantity,
    'cancel_at_period_end', s.cancel_at_period_end,
    'current_period_start', public.billing_rfc3339(s.current_period_start),
    'current_period_end', public.billing_rfc3339(s.current_period_end),
    'cancel_at', public.billing_rfc3339(s.cancel_at),
    'canceled_at', public.billing_rfc3339(s.canceled_at),
    'ended_at', public.billing_rfc3339(s.ended_at),
    'trial_start', public.billing_rfc3339(s.trial_start),
    'trial_end', public.billing_rfc3339(s.trial_end),
    'created', public.billing_rfc3339(s.stripe_created),
    'cancellation_reason', s.cancellation_reason,
    'cancellation_feedback', s.cancellation_feedback,
    'cancellation_comment', s.cancellation_comment,
    'state_at', public.billing_rfc3339(s.state_at),
    'updated_at', public.billing_rfc3339(s.updated_at)
  )
  from public.subscriptions s
  where s.id = p_id
$$;

-- billing_subscription_state_at returns the Stripe time of the stored state
-- of one subscription and the stored row: {"state_at": RFC 3339 or null
-- when not stored, "stored": billing_stored_subscription_json or null}.
--
-- Cancel, resume and change-plan read it when Stripe's answer was not later
-- than the stored state. When the stored fields are already those the
-- answer would write (the change's own webhook event won the race), there
-- is nothing to apply and no wait is needed; otherwise a short wait and a
-- fresh read can apply it (stripesync.ApplyOwnWrite).
create or replace function public.billing_subscription_state_at(p_subscription_id text)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'state_at', (select public.billing_rfc3339(s.state_at) from public.subscriptions s where s.id = p_subscription_id),
    'stored', public.billing_stored_subscription_json(p_subscription_id))
$$;

revoke all on function public.billing_subscription_state_at(text) from public, anon, authenticated;
grant execute on function public.billing_subscription_state_at(text) to service_role;
