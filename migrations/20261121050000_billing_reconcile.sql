-- Reconcile, replay and the operator's view: the read side the
-- reconcile-subscriptions function and `billing reconcile|replay|status`
-- need, and the per-user rate limit of the success-page sync. Writes of
-- subscription state still go through billing_apply_event only.
--
-- Conventions as in 20261121000300_billing_functions.sql. Idempotent:
-- CREATE ... IF NOT EXISTS, CREATE OR REPLACE, repeatable grants.

-- billing_reconcile_user_runs (server only) ------------------------------------

-- When each user's success-page sync last asked Stripe. Kept in the database
-- so that the limit holds across Lambda instances.
create table if not exists public.billing_reconcile_user_runs (
  user_id uuid primary key references auth.users (id) on delete cascade,
  last_sync_at timestamptz not null,
  syncs bigint not null default 1
);

alter table public.billing_reconcile_user_runs enable row level security;
revoke all on public.billing_reconcile_user_runs from anon, authenticated;
grant all on public.billing_reconcile_user_runs to service_role;

-- billing_reconcile_user_begin -------------------------------------------------

-- billing_reconcile_user_begin decides, atomically, whether the user's sync
-- may ask Stripe now: at most once every p_min_interval_seconds per user.
-- Of concurrent callers exactly one gets "sync": true; the others, and every
-- caller within the interval, get "sync": false and answer from the
-- database. Returns {"sync", "stripe_customer_id" (or null),
-- "last_sync_at", "retry_after_seconds"}; a user that does not exist in
-- auth.users gets {"sync": false, "unknown_user": true}.
create or replace function public.billing_reconcile_user_begin(
  p_user_id uuid,
  p_min_interval_seconds integer
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := clock_timestamp();
  v_interval interval;
  v_taken timestamptz;
  v_last timestamptz;
  v_customer text;
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;
  if p_min_interval_seconds is null or p_min_interval_seconds < 0 or p_min_interval_seconds > 86400 then
    raise exception 'p_min_interval_seconds must be between 0 and 86400 (got %)', p_min_interval_seconds
      using errcode = '22023';
  end if;
  if not exists (select 1 from auth.users u where u.id = p_user_id) then
    return jsonb_build_object('sync', false, 'unknown_user', true);
  end if;
  v_interval := make_interval(secs => p_min_interval_seconds);

  -- A concurrent insert of the same user waits for the other transaction
  -- and then sees its row: the WHERE decides on the committed time.
  insert into public.billing_reconcile_user_runs as r (user_id, last_sync_at)
  values (p_user_id, v_now)
  on conflict (user_id) do update
    set last_sync_at = excluded.last_sync_at, syncs = r.syncs + 1
    where r.last_sync_at <= v_now - v_interval
  returning r.last_sync_at into v_taken;

  if v_taken is null then
    select r.last_sync_at into v_last from public.billing_reconcile_user_runs r where r.user_id = p_user_id;
  else
    v_last := v_taken;
  end if;

  select p.stripe_customer_id into v_customer from public.profiles p where p.id = p_user_id;

  return jsonb_build_object(
    'sync', v_taken is not null,
    'stripe_customer_id', v_customer,
    'last_sync_at', public.billing_rfc3339(v_last),
    'retry_after_seconds', case when v_taken is not null then 0
      else greatest(ceil(extract(epoch from (v_last + v_interval - v_now))), 0)::integer end
  );
end;
$$;

revoke all on function public.billing_reconcile_user_begin(uuid, integer) from public, anon, authenticated;
grant execute on function public.billing_reconcile_user_begin(uuid, integer) to service_role;

-- billing_stored_subscription_json ---------------------------------------------

-- The one JSON shape of a stored subscription for reconcile and status:
-- what a comparison with Stripe needs, and who it belongs to ("user_id" of
-- the row, else the user whose customer it is, as "owner_id").
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
    'cancel_at_period_end', s.cancel_at_period_end,
    'current_period_start', public.billing_rfc3339(s.current_period_start),
    'current_period_end', public.billing_rfc3339(s.current_period_end),
    'cancel_at', public.billing_rfc3339(s.cancel_at),
    'canceled_at', public.billing_rfc3339(s.canceled_at),
    'ended_at', public.billing_rfc3339(s.ended_at),
    'created', public.billing_rfc3339(s.stripe_created),
    'cancellation_reason', s.cancellation_reason,
    'state_at', public.billing_rfc3339(s.state_at),
    'updated_at', public.billing_rfc3339(s.updated_at)
  )
  from public.subscriptions s
  where s.id = p_id
$$;

revoke all on function public.billing_stored_subscription_json(text) from public, anon, authenticated;

-- billing_subscriptions_by_id --------------------------------------------------

-- billing_subscriptions_by_id returns the stored rows of the given Stripe
-- subscription IDs (at most 1000; unknown IDs are left out), and the user
-- linked to each of the given Stripe customers (unlinked ones are left out):
-- {"subscriptions": [<billing_stored_subscription_json>, ...] in ID order,
--  "customer_users": {"cus_...": "<user uuid>", ...}}.
create or replace function public.billing_subscriptions_by_id(p_ids text[], p_customer_ids text[] default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
begin
  if coalesce(cardinality(p_ids), 0) > 1000 or coalesce(cardinality(p_customer_ids), 0) > 1000 then
    raise exception 'at most 1000 ids per call' using errcode = '22023';
  end if;
  return jsonb_build_object(
    'subscriptions', coalesce((
      select jsonb_agg(public.billing_stored_subscription_json(s.id) order by s.id)
      from public.subscriptions s
      where s.id = any (coalesce(p_ids, '{}'))), '[]'::jsonb),
    'customer_users', coalesce((
      select jsonb_object_agg(p.stripe_customer_id, p.id)
      from public.profiles p
      where p.stripe_customer_id = any (coalesce(p_customer_ids, '{}'))), '{}'::jsonb));
end;
$$;

revoke all on function public.billing_subscriptions_by_id(text[], text[]) from public, anon, authenticated;
grant execute on function public.billing_subscriptions_by_id(text[], text[]) to service_role;

-- billing_subscriptions_open ---------------------------------------------------

-- billing_subscriptions_open pages through the stored subscriptions that are
-- not over (status other than canceled and incomplete_expired) of one mode
-- (p_livemode; both when null), in ID order after p_after, at most p_limit
-- (1..1000) per page: {"subscriptions": [...], "next": last ID or null when
-- this was the last page}. The reconcile job reports those Stripe did not
-- list.
create or replace function public.billing_subscriptions_open(
  p_after text default null,
  p_limit integer default 500,
  p_livemode boolean default null
)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_limit integer := least(greatest(coalesce(p_limit, 500), 1), 1000);
  v_rows jsonb;
  v_n integer;
begin
  select coalesce(jsonb_agg(public.billing_stored_subscription_json(t.id) order by t.id), '[]'::jsonb), count(*)
    into v_rows, v_n
  from (
    select s.id from public.subscriptions s
    where s.status not in ('canceled', 'incomplete_expired')
      and (p_livemode is null or s.livemode = p_livemode)
      and (p_after is null or s.id > p_after)
    order by s.id
    limit v_limit
  ) t;
  return jsonb_build_object('subscriptions', v_rows,
    'next', case when v_n = v_limit then v_rows -> (v_n - 1) ->> 'id' end);
end;
$$;

revoke all on function public.billing_subscriptions_open(text, integer, boolean) from public, anon, authenticated;
grant execute on function public.billing_subscriptions_open(text, integer, boolean) to service_role;

-- billing_events_select --------------------------------------------------------

-- billing_events_select pages through stored Stripe events for replay, in
-- Stripe's order (event.created, then ID): the events with IDs in p_ids, or
-- else those of p_types (all types when null) created in [p_since, p_until)
-- with status p_status (any when null), after the key (p_after_created,
-- p_after_id), at most p_limit (1..500) per page. Returns {"events": [{id,
-- type, status, error, attempts, livemode, created, received_at,
-- processed_at, payload}], "next": {"created", "id"} or null}.
create or replace function public.billing_events_select(
  p_ids text[] default null,
  p_types text[] default null,
  p_since timestamptz default null,
  p_until timestamptz default null,
  p_status text default null,
  p_after_created timestamptz default null,
  p_after_id text default null,
  p_limit integer default 100
)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_limit integer := least(greatest(coalesce(p_limit, 100), 1), 500);
  v_rows jsonb;
  v_n integer;
  v_last jsonb;
begin
  if p_status is not null and p_status not in ('processed', 'ignored', 'failed') then
    raise exception 'p_status must be processed, ignored or failed (got %)', p_status using errcode = '22023';
  end if;
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', t.id, 'type', t.type, 'status', t.status, 'error', t.error,
           'attempts', t.attempts, 'livemode', t.livemode,
           'created', public.billing_rfc3339(t.stripe_created),
           'created_key', t.k,
           'received_at', public.billing_rfc3339(t.received_at),
           'processed_at', public.billing_rfc3339(t.processed_at),
           'payload', t.payload) order by t.k, t.id), '[]'::jsonb), count(*)
    into v_rows, v_n
  from (
    select e.*, coalesce(e.stripe_created, e.received_at) as k
    from public.stripe_events e
    where (p_ids is null or e.id = any (p_ids))
      and (p_types is null or e.type = any (p_types))
      and (p_since is null or coalesce(e.stripe_created, e.received_at) >= p_since)
      and (p_until is null or coalesce(e.stripe_created, e.received_at) < p_until)
      and (p_status is null or e.status = p_status)
      and (p_after_id is null
           or (coalesce(e.stripe_created, e.received_at), e.id) > (p_after_created, p_after_id))
    order by coalesce(e.stripe_created, e.received_at), e.id
    limit v_limit
  ) t;
  if v_n = v_limit then
    v_last := v_rows -> (v_n - 1);
  end if;
  return jsonb_build_object('events', v_rows,
    'next', case when v_last is not null then
      jsonb_build_object('created', v_last -> 'created_key', 'id', v_last -> 'id') end);
end;
$$;

revoke all on function public.billing_events_select(text[], text[], timestamptz, timestamptz, text, timestamptz, text, integer)
  from public, anon, authenticated;
grant execute on function public.billing_events_select(text[], text[], timestamptz, timestamptz, text, timestamptz, text, integer)
  to service_role;

-- billing_ops_user_status ------------------------------------------------------

-- billing_ops_user_status is the operator's view of one user (billing
-- status): {"user_id", "exists", "stripe_customer_id", "profile": {the
-- snapshot columns}, "subscriptions": [<billing_stored_subscription_json>,
-- newest first], "events": [the last p_event_limit (1..200) Stripe events
-- of the user's customer or subscriptions: {id, type, status, error,
-- attempts, created, received_at}], "emails": [the user's outbox rows,
-- newest first, at most 50: {id, kind, status, attempts, last_error,
-- next_attempt_at, created_at, sent_at}], "sync": {last_sync_at, syncs}}.
-- No email address is returned.
create or replace function public.billing_ops_user_status(p_user_id uuid, p_event_limit integer default 20)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_profile public.profiles%rowtype;
  v_exists boolean;
  v_sub_ids text[];
  v_limit integer := least(greatest(coalesce(p_event_limit, 20), 1), 200);
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;
  v_exists := exists (select 1 from auth.users u where u.id = p_user_id);
  select * into v_profile from public.profiles p where p.id = p_user_id;

  select coalesce(array_agg(s.id), '{}') into v_sub_ids
  from public.subscriptions s
  where s.user_id = p_user_id
     or (v_profile.stripe_customer_id is not null and s.customer_id = v_profile.stripe_customer_id);

  return jsonb_build_object(
    'user_id', p_user_id,
    'exists', v_exists,
    'stripe_customer_id', v_profile.stripe_customer_id,
    'profile', case when v_profile.id is null then null else jsonb_build_object(
      'active_plan', v_profile.active_plan,
      'active_status', v_profile.active_status,
      'active_subscription_id', v_profile.active_subscription_id,
      'subscription_current_period_end', public.billing_rfc3339(v_profile.subscription_current_period_end),
      'cancel_at_period_end', v_profile.cancel_at_period_end,
      'billing_updated_at', public.billing_rfc3339(v_profile.billing_updated_at)) end,
    'subscriptions', coalesce((
      select jsonb_agg(public.billing_stored_subscription_json(s.id)
                       order by coalesce(s.stripe_created, s.created_at) desc, s.id desc)
      from public.subscriptions s where s.id = any (v_sub_ids)), '[]'::jsonb),
    'events', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', e.id, 'type', e.type, 'status', e.status, 'error', e.error,
               'attempts', e.attempts, 'created', public.billing_rfc3339(e.stripe_created),
               'received_at', public.billing_rfc3339(e.received_at))
             order by coalesce(e.stripe_created, e.received_at) desc, e.id desc)
      from (
        select e.* from public.stripe_events e
        where (v_profile.stripe_customer_id is not null
               and e.payload #>> '{data,object,customer}' = v_profile.stripe_customer_id)
           or e.payload #>> '{data,object,id}' = any (v_sub_ids)
           or e.payload #>> '{data,object,subscription}' = any (v_sub_ids)
           or e.payload #>> '{data,object,parent,subscription_details,subscription}' = any (v_sub_ids)
           or e.payload #>> '{data,object,client_reference_id}' = p_user_id::text
        order by coalesce(e.stripe_created, e.received_at) desc, e.id desc
        limit v_limit
      ) e), '[]'::jsonb),
    'emails', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', o.id, 'kind', o.kind, 'status', o.status, 'attempts', o.attempts,
               'last_error', o.last_error,
               'next_attempt_at', public.billing_rfc3339(o.next_attempt_at),
               'created_at', public.billing_rfc3339(o.created_at),
               'sent_at', public.billing_rfc3339(o.sent_at))
             order by o.created_at desc, o.id desc)
      from (select * from public.email_outbox o where o.user_id = p_user_id
            order by o.created_at desc, o.id desc limit 50) o), '[]'::jsonb),
    'sync', (select jsonb_build_object('last_sync_at', public.billing_rfc3339(r.last_sync_at), 'syncs', r.syncs)
             from public.billing_reconcile_user_runs r where r.user_id = p_user_id)
  );
end;
$$;

revoke all on function public.billing_ops_user_status(uuid, integer) from public, anon, authenticated;
grant execute on function public.billing_ops_user_status(uuid, integer) to service_role;
