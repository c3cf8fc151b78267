-- The checkout guard of one Stripe mode (issue 9, item 8): a subscription
-- of the other mode (a staging deployment's 4242 card in a database shared
-- with production) never blocks a checkout. billing_checkout_lock gets a
-- third parameter, p_livemode (STRIPE_MODE = live): only subscriptions of
-- that mode are "blocking_subscription". Its default, null, counts every
-- mode, as before, so a caller that passes only p_user_id and p_ttl_seconds
-- is unchanged; create-checkout-session should pass it. Otherwise the body
-- is that of 20261121040000_billing_checkout.sql.
--
-- A function's parameter list cannot change in place: the two-parameter
-- form is dropped (one function of this name stays, so calls by name never
-- become ambiguous). Idempotent.

drop function if exists public.billing_checkout_lock(uuid, integer);

create or replace function public.billing_checkout_lock(p_user_id uuid, p_ttl_seconds integer, p_livemode boolean default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := clock_timestamp();
  v_token uuid;
  v_expires timestamptz;
  v_customer text;
  v_blocking text;
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;
  if p_ttl_seconds is null or p_ttl_seconds < 1 or p_ttl_seconds > 600 then
    raise exception 'p_ttl_seconds must be between 1 and 600 (got %)', p_ttl_seconds using errcode = '22023';
  end if;
  if not exists (select 1 from auth.users u where u.id = p_user_id) then
    return jsonb_build_object('acquired', false, 'unknown_user', true);
  end if;

  -- A concurrent insert of the same user waits for the other transaction
  -- and then sees its row: the WHERE decides on the committed lease.
  insert into public.billing_checkout_locks as l (user_id, token, acquired_at, expires_at)
  values (p_user_id, gen_random_uuid(), v_now, v_now + make_interval(secs => p_ttl_seconds))
  on conflict (user_id) do update
    set token = excluded.token, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
    where l.expires_at <= v_now
  returning l.token, l.expires_at into v_token, v_expires;

  if v_token is null then
    select l.expires_at into v_expires from public.billing_checkout_locks l where l.user_id = p_user_id;
  end if;

  select p.stripe_customer_id into v_customer
  from public.profiles p
  where p.id = p_user_id;

  select s.id into v_blocking
  from public.subscriptions s
  where (s.user_id = p_user_id
         or (s.user_id is null and v_customer is not null and s.customer_id = v_customer))
    and (p_livemode is null or s.livemode = p_livemode)
    and s.status in ('active', 'trialing', 'past_due')
    and not (s.cancel_at_period_end and s.current_period_end is not null and s.current_period_end <= v_now)
    and not (s.cancel_at is not null and s.cancel_at <= v_now)
  order by coalesce(s.stripe_created, s.created_at) desc, s.id desc
  limit 1;

  return jsonb_build_object(
    'acquired', v_token is not null,
    'token', v_token,
    'expires_at', public.billing_rfc3339(v_expires),
    'stripe_customer_id', v_customer,
    'blocking_subscription', v_blocking
  );
end;
$$;

revoke all on function public.billing_checkout_lock(uuid, integer, boolean) from public, anon, authenticated;
grant execute on function public.billing_checkout_lock(uuid, integer, boolean) to service_role;
