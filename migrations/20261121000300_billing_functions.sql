-- Billing SQL functions: the only writers of the billing tables besides the
-- server's own statements, called with pgx ("select public.fn(p_x => $1)")
-- or through PostgREST ("/rest/v1/rpc/fn" with the same named JSON args).
--
-- Conventions: public schema, parameters prefixed p_, jsonb results,
-- SECURITY DEFINER with a fixed search_path, EXECUTE only for service_role
-- unless a function says otherwise. Timestamps in results are RFC 3339 UTC
-- strings ("2026-12-26T00:00:00Z") or null.
--
-- Idempotent: CREATE OR REPLACE, and grants can be repeated.

-- Helpers ----------------------------------------------------------------------

-- billing_rfc3339 formats a time as RFC 3339 in UTC with whole seconds
-- (Stripe times have no fraction), null for null.
create or replace function public.billing_rfc3339(p_at timestamptz)
returns text
language sql stable strict parallel safe
as $$
  select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- billing_usage_period_start is the first day of the month of p_now in the
-- time zone p_time_zone: the start of the usage period that contains p_now.
create or replace function public.billing_usage_period_start(p_now timestamptz, p_time_zone text)
returns date
language sql stable strict parallel safe
as $$
  select (date_trunc('month', p_now at time zone p_time_zone))::date
$$;

-- billing_usage_json is the one JSON shape of a usage counter:
-- {allowed, reason, counter, used, limit, remaining, period_start,
--  resets_at, time_zone}; limit and remaining are null when unlimited.
create or replace function public.billing_usage_json(
  p_counter text,
  p_used integer,
  p_limit integer,
  p_period_start date,
  p_time_zone text,
  p_allowed boolean,
  p_reason text
)
returns jsonb
language sql stable parallel safe
as $$
  select jsonb_build_object(
    'allowed', p_allowed,
    'reason', p_reason,
    'counter', p_counter,
    'used', p_used,
    'limit', p_limit,
    'remaining', case when p_limit is null then null else greatest(p_limit - p_used, 0) end,
    'period_start', to_char(p_period_start, 'YYYY-MM-DD'),
    'resets_at', public.billing_rfc3339(
      ((p_period_start + interval '1 month')::timestamp at time zone p_time_zone)),
    'time_zone', p_time_zone
  )
$$;

revoke all on function public.billing_rfc3339(timestamptz) from public, anon, authenticated;
revoke all on function public.billing_usage_period_start(timestamptz, text) from public, anon, authenticated;
revoke all on function public.billing_usage_json(text, integer, integer, date, text, boolean, text)
  from public, anon, authenticated;

-- billing_user_state -----------------------------------------------------------

-- billing_user_state returns what the server needs to decide a user's access:
-- {"user_id", "stripe_customer_id" (or null), "subscriptions": [{id,
-- customer_id, status, price_id, plan, cancel_at_period_end,
-- current_period_start, current_period_end, cancel_at, canceled_at, ended_at,
-- trial_end, created, cancellation_reason, livemode}, ...]}, newest first.
-- A subscription belongs to the user when its user_id is theirs, or when it
-- has no user yet and its customer is the user's customer. A user without a
-- profile has no customer.
create or replace function public.billing_user_state(p_user_id uuid)
returns jsonb
language plpgsql stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_customer text;
  v_subscriptions jsonb;
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;

  select p.stripe_customer_id into v_customer
  from public.profiles p
  where p.id = p_user_id;

  select coalesce(jsonb_agg(jsonb_build_object(
           'id', s.id,
           'customer_id', s.customer_id,
           'status', s.status,
           'price_id', s.price_id,
           'plan', s.plan,
           'cancel_at_period_end', s.cancel_at_period_end,
           'current_period_start', public.billing_rfc3339(s.current_period_start),
           'current_period_end', public.billing_rfc3339(s.current_period_end),
           'cancel_at', public.billing_rfc3339(s.cancel_at),
           'canceled_at', public.billing_rfc3339(s.canceled_at),
           'ended_at', public.billing_rfc3339(s.ended_at),
           'trial_end', public.billing_rfc3339(s.trial_end),
           'created', public.billing_rfc3339(s.stripe_created),
           'cancellation_reason', s.cancellation_reason,
           'livemode', s.livemode
         ) order by coalesce(s.stripe_created, s.created_at) desc, s.id desc), '[]'::jsonb)
    into v_subscriptions
  from public.subscriptions s
  where s.user_id = p_user_id
     or (s.user_id is null and v_customer is not null and s.customer_id = v_customer);

  return jsonb_build_object(
    'user_id', p_user_id,
    'stripe_customer_id', v_customer,
    'subscriptions', v_subscriptions
  );
end;
$$;

revoke all on function public.billing_user_state(uuid) from public, anon, authenticated;
grant execute on function public.billing_user_state(uuid) to service_role;
