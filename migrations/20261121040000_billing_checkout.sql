-- Checkout: one Stripe customer per user, and one checkout at a time per
-- user (known trap 7, double subscription).
--
-- create-checkout-session runs as several calls, each its own transaction
-- (over pgx and over the Supabase REST API alike), with Stripe calls in
-- between, so it cannot hold a row or advisory lock. Instead it takes a
-- short lease per user (billing_checkout_lock), does its checks and Stripe
-- calls, stores the customer (billing_checkout_link_customer) and gives the lease
-- back (billing_checkout_unlock). A lease that is not given back (a crashed
-- function) expires after its TTL.
--
-- Idempotent: CREATE ... IF NOT EXISTS, CREATE OR REPLACE, repeatable grants.

-- billing_checkout_locks (server only) -----------------------------------------

create table if not exists public.billing_checkout_locks (
  user_id uuid primary key references auth.users (id) on delete cascade,
  token uuid not null,                       -- the holder's proof, for unlock
  acquired_at timestamptz not null default now(),
  expires_at timestamptz not null
);

alter table public.billing_checkout_locks enable row level security;
revoke all on public.billing_checkout_locks from anon, authenticated;
grant all on public.billing_checkout_locks to service_role;

-- billing_checkout_lock --------------------------------------------------------

-- billing_checkout_lock takes the user's checkout lease for p_ttl_seconds
-- when nobody holds it (or the holder's lease expired), atomically: of
-- concurrent callers exactly one gets {"acquired": true, "token": ...}.
-- Every answer also carries what checkout decides on, read after the lease
-- was taken: "stripe_customer_id" (or null) and "blocking_subscription", the
-- ID of a subscription that is active, trialing or past_due and not past a
-- scheduled end (or null). A user that does not exist in auth.users gets
-- {"acquired": false, "unknown_user": true}.
create or replace function public.billing_checkout_lock(p_user_id uuid, p_ttl_seconds integer)
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

revoke all on function public.billing_checkout_lock(uuid, integer) from public, anon, authenticated;
grant execute on function public.billing_checkout_lock(uuid, integer) to service_role;

-- billing_checkout_unlock ------------------------------------------------------

-- billing_checkout_unlock gives the lease back when p_token still holds it:
-- {"released": true|false}. A lease that expired and was taken by another
-- caller is not touched.
create or replace function public.billing_checkout_unlock(p_user_id uuid, p_token uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
declare
  v_released boolean;
begin
  if p_user_id is null or p_token is null then
    raise exception 'p_user_id and p_token are required' using errcode = '22023';
  end if;
  delete from public.billing_checkout_locks l
  where l.user_id = p_user_id and l.token = p_token;
  v_released := found;
  return jsonb_build_object('released', v_released);
end;
$$;

revoke all on function public.billing_checkout_unlock(uuid, uuid) from public, anon, authenticated;
grant execute on function public.billing_checkout_unlock(uuid, uuid) to service_role;

-- billing_checkout_link_customer -----------------------------------------------

-- billing_checkout_link_customer stores p_customer_id as the user's Stripe
-- customer when the profile has none yet (creating the profile if it is missing) and
-- returns the one stored: {"stripe_customer_id": ..., "linked": true when it
-- is p_customer_id}. An existing link is never replaced. A customer that is
-- already another user's is an error (SQLSTATE 23505): customers are linked
-- by the user ID Stripe carries in metadata, never by email.
create or replace function public.billing_checkout_link_customer(p_user_id uuid, p_customer_id text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
declare
  v_stored text;
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;
  if p_customer_id is null or p_customer_id !~ '^cus_[A-Za-z0-9]+$' then
    raise exception 'p_customer_id must be a Stripe customer ID (got %)', p_customer_id using errcode = '22023';
  end if;
  if exists (select 1 from public.profiles p
             where p.stripe_customer_id = p_customer_id and p.id <> p_user_id) then
    raise exception 'Stripe customer % belongs to another user', p_customer_id using errcode = '23505';
  end if;

  insert into public.profiles as p (id, stripe_customer_id)
  values (p_user_id, p_customer_id)
  on conflict (id) do update
    set stripe_customer_id = excluded.stripe_customer_id, billing_updated_at = now()
    where p.stripe_customer_id is null;

  select p.stripe_customer_id into v_stored from public.profiles p where p.id = p_user_id;
  return jsonb_build_object('stripe_customer_id', v_stored, 'linked', v_stored = p_customer_id);
end;
$$;

revoke all on function public.billing_checkout_link_customer(uuid, text) from public, anon, authenticated;
grant execute on function public.billing_checkout_link_customer(uuid, text) to service_role;
