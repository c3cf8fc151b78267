-- App flows (issue 9): the checkout guard also refuses a user whose
-- subscription waits for a payment (incomplete, unpaid, paused); a Stripe
-- customer deleted in Stripe is unlinked from its user, keeping the
-- history; cancel and resume read the stored state's time to know whether
-- Stripe's answer lost a same-second race.
--
-- Idempotent: CREATE OR REPLACE, repeatable grants.

-- billing_checkout_lock --------------------------------------------------------

-- billing_checkout_lock takes the user's checkout lease for p_ttl_seconds
-- when nobody holds it (or the holder's lease expired), atomically: of
-- concurrent callers exactly one gets {"acquired": true, "token": ...}.
-- Every answer also carries what checkout decides on, read after the lease
-- was taken: "stripe_customer_id" (or null), "blocking_subscription" and
-- "blocking_status": the newest subscription that is active, trialing or
-- past_due and not past a scheduled end, else the newest one that is
-- incomplete, unpaid or paused (it waits for a payment; a new checkout
-- would make a second subscription), or null. A user that does not exist
-- in auth.users gets {"acquired": false, "unknown_user": true}. Only
-- subscriptions of p_livemode's Stripe mode count (null: every mode; see
-- 20261201010300_billing_checkout_mode.sql), and a user's other-mode rows
-- never block. One function of this name stays (calls by name are never
-- ambiguous): the two-parameter form, if a database has it, is dropped.
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
  v_blocking_status text;
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

  select s.id, s.status into v_blocking, v_blocking_status
  from public.subscriptions s
  where (s.user_id = p_user_id
         or (s.user_id is null and v_customer is not null and s.customer_id = v_customer))
    and (p_livemode is null or s.livemode = p_livemode)
    and s.status in ('active', 'trialing', 'past_due', 'incomplete', 'unpaid', 'paused')
    and not (s.cancel_at_period_end and s.current_period_end is not null and s.current_period_end <= v_now)
    and not (s.cancel_at is not null and s.cancel_at <= v_now)
  order by (s.status in ('active', 'trialing', 'past_due')) desc,
           coalesce(s.stripe_created, s.created_at) desc, s.id desc
  limit 1;

  return jsonb_build_object(
    'acquired', v_token is not null,
    'token', v_token,
    'expires_at', public.billing_rfc3339(v_expires),
    'stripe_customer_id', v_customer,
    'blocking_subscription', v_blocking,
    'blocking_status', v_blocking_status
  );
end;
$$;

revoke all on function public.billing_checkout_lock(uuid, integer, boolean) from public, anon, authenticated;
grant execute on function public.billing_checkout_lock(uuid, integer, boolean) to service_role;

-- billing_unlink_customer ------------------------------------------------------

-- billing_unlink_customer forgets a Stripe customer that no longer exists
-- in Stripe (customer.deleted, or a resource_missing answer for it): the
-- profile linked to p_customer_id (only p_user_id's when it is given) no
-- longer points to it, so that the user's next checkout creates a new
-- customer. The history stays: the customer's subscriptions are kept, and
-- those that were the user's only through the customer get the user's ID,
-- so that access and history do not change by the unlink itself (Stripe
-- cancels a deleted customer's subscriptions and sends their events).
-- Serialized with the customer's events. Returns {"unlinked": bool,
-- "user_id": the user that was linked, or null}.
create or replace function public.billing_unlink_customer(p_customer_id text, p_user_id uuid default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
declare
  v_user uuid;
begin
  if p_customer_id is null or p_customer_id = '' then
    raise exception 'p_customer_id is required' using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('billing:customer:' || p_customer_id, 0));

  select p.id into v_user
  from public.profiles p
  where p.stripe_customer_id = p_customer_id
    and (p_user_id is null or p.id = p_user_id)
  for update;
  if v_user is null then
    return jsonb_build_object('unlinked', false, 'user_id', null);
  end if;

  update public.subscriptions s set user_id = v_user, updated_at = now()
  where s.customer_id = p_customer_id and s.user_id is null;
  update public.profiles p
  set stripe_customer_id = null, billing_updated_at = now()
  where p.id = v_user;
  return jsonb_build_object('unlinked', true, 'user_id', v_user);
end;
$$;

revoke all on function public.billing_unlink_customer(text, uuid) from public, anon, authenticated;
grant execute on function public.billing_unlink_customer(text, uuid) to service_role;

-- billing_subscription_state_at ------------------------------------------------

-- billing_subscription_state_at returns the Stripe time of the stored state
-- of one subscription: {"state_at": RFC 3339 or null when not stored}.
-- Cancel and resume read it when Stripe's answer was not later than the
-- stored state, to decide whether a short wait and a fresh read can apply it.
create or replace function public.billing_subscription_state_at(p_subscription_id text)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select jsonb_build_object('state_at',
    (select public.billing_rfc3339(s.state_at) from public.subscriptions s where s.id = p_subscription_id))
$$;

revoke all on function public.billing_subscription_state_at(text) from public, anon, authenticated;
grant execute on function public.billing_subscription_state_at(text) to service_role;
