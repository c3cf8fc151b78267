-- Subscription schedules: the plan change a Stripe subscription schedule has
-- waiting for a phase boundary (change-plan's downgrade at the period end),
-- so that check-subscription can show scheduledPlan and scheduledChangeAt.
--
-- One row per Stripe schedule (sub_sched_...), written only by
-- billing_apply_schedule, from webhook events (subscription_schedule.*),
-- from Stripe's answers to change-plan's own calls, and from reconcile. The
-- state kept is the schedule's status and the next phase's plan and start;
-- the whole object stays in raw.
--
-- Idempotent: the table and index are created only when missing, and the
-- functions are created or replaced.

create table if not exists public.subscription_schedules (
  id text primary key,                       -- Stripe schedule ID (sub_sched_...)
  subscription_id text,                      -- subscription (or released_subscription)
  customer_id text not null,
  livemode boolean not null default false,
  status text not null,                      -- not_started, active, completed, released, canceled
  scheduled_price_id text,                   -- price of the next phase, when it differs
  scheduled_plan text,                       -- catalog plan of that price (null if unknown)
  scheduled_change_at timestamptz,           -- start of the next phase
  state_at timestamptz not null,             -- Stripe time of the state stored
  raw jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists subscription_schedules_subscription_idx
  on public.subscription_schedules (subscription_id);

alter table public.subscription_schedules enable row level security;
revoke all on public.subscription_schedules from public, anon, authenticated;
grant select, insert, update, delete on public.subscription_schedules to service_role;

-- billing_apply_schedule records a webhook event (when given) and applies a
-- schedule state, in one transaction, under the customer's lock that
-- billing_apply_event takes too.
--
-- p_doc: {"event": {id, type, livemode, api_version, created, payload} or
-- absent, "schedule": {id, subscription_id, customer_id, livemode, status,
-- scheduled_price_id, scheduled_plan, scheduled_change_at, state_at,
-- source ("event", "fetch" or "api"), raw}}.
--
-- Order: completed, released and canceled are final, so such a stored
-- state is never replaced and such a new state always replaces a live one.
-- Between live states the later state_at wins; an event of the stored
-- state's second, or a fetched answer not later than it, answers
-- needs_fetch (Stripe is asked, and the call made again with its answer)
-- and writes nothing; an API answer not later than it is "stale".
--
-- Result: {"status": "processed"|"duplicate"|"needs_fetch", "schedule":
-- "applied"|"stale"|"none", "needs_fetch", "state_at"}.
create or replace function public.billing_apply_schedule(p_doc jsonb)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_ev jsonb := p_doc -> 'event';
  v_sc jsonb := p_doc -> 'schedule';
  v_event_id text := nullif(v_ev ->> 'id', '');
  v_id text := nullif(v_sc ->> 'id', '');
  v_customer text := nullif(v_sc ->> 'customer_id', '');
  v_status text := nullif(v_sc ->> 'status', '');
  v_source text := coalesce(nullif(v_sc ->> 'source', ''), 'event');
  v_state_at timestamptz := (v_sc ->> 'state_at')::timestamptz;
  v_final text[] := array['completed', 'released', 'canceled'];
  v_stored record;
  v_found boolean;
  v_applies boolean;
  v_recorded text;
begin
  if v_sc is null or v_id is null or v_customer is null or v_status is null or v_state_at is null then
    raise exception 'schedule needs id, customer_id, status and state_at' using errcode = '22023';
  end if;
  if v_ev is not null and (v_event_id is null or coalesce(v_ev ->> 'type', '') = '') then
    raise exception 'event needs an id and a type' using errcode = '22023';
  end if;
  if v_source not in ('event', 'fetch', 'api') then
    raise exception 'schedule source must be event, fetch or api, got %', v_source using errcode = '22023';
  end if;

  perform pg_advisory_xact_lock(hashtextextended('billing:customer:' || v_customer, 0));

  if v_event_id is not null and exists (
      select 1 from public.stripe_events e where e.id = v_event_id and e.status <> 'failed') then
    return jsonb_build_object('status', 'duplicate', 'schedule', 'none');
  end if;

  select s.status, s.state_at into v_stored
  from public.subscription_schedules s where s.id = v_id
  for update;
  v_found := found;

  if not v_found then
    v_applies := true;
  elsif v_stored.status = any (v_final) then
    v_applies := false;
  elsif v_status = any (v_final) then
    v_applies := true;
  elsif (v_source = 'event' and v_state_at = v_stored.state_at)
     or (v_source = 'fetch' and v_state_at <= v_stored.state_at) then
    return jsonb_build_object('status', 'needs_fetch', 'schedule', 'none', 'needs_fetch', v_id,
      'state_at', v_stored.state_at);
  else
    v_applies := v_state_at > v_stored.state_at;
  end if;

  if v_event_id is not null then
    insert into public.stripe_events as e
      (id, type, livemode, api_version, stripe_created, payload, status, error, attempts,
       received_at, processed_at)
    values (v_event_id, v_ev ->> 'type', coalesce((v_ev ->> 'livemode')::boolean, false),
            nullif(v_ev ->> 'api_version', ''), (v_ev ->> 'created')::timestamptz,
            v_ev -> 'payload', 'processed', null, 1, now(), now())
    on conflict (id) do update
      set status = excluded.status, error = null, attempts = e.attempts + 1,
          payload = coalesce(excluded.payload, e.payload), processed_at = now()
      where e.status = 'failed'
    returning e.id into v_recorded;
    if v_recorded is null then
      return jsonb_build_object('status', 'duplicate', 'schedule', 'none');
    end if;
  end if;

  if not v_applies then
    return jsonb_build_object('status', 'processed', 'schedule', 'stale');
  end if;

  insert into public.subscription_schedules as s
    (id, subscription_id, customer_id, livemode, status, scheduled_price_id, scheduled_plan,
     scheduled_change_at, state_at, raw)
  values (v_id, nullif(v_sc ->> 'subscription_id', ''), v_customer,
          coalesce((v_sc ->> 'livemode')::boolean, false), v_status,
          nullif(v_sc ->> 'scheduled_price_id', ''), nullif(v_sc ->> 'scheduled_plan', ''),
          (v_sc ->> 'scheduled_change_at')::timestamptz, v_state_at, v_sc -> 'raw')
  on conflict (id) do update
    set subscription_id = coalesce(excluded.subscription_id, s.subscription_id),
        customer_id = excluded.customer_id, livemode = excluded.livemode,
        status = excluded.status, scheduled_price_id = excluded.scheduled_price_id,
        scheduled_plan = excluded.scheduled_plan, scheduled_change_at = excluded.scheduled_change_at,
        state_at = excluded.state_at, raw = excluded.raw, updated_at = now();
  return jsonb_build_object('status', 'processed', 'schedule', 'applied');
end;
$$;

revoke all on function public.billing_apply_schedule(jsonb) from public, anon, authenticated;
grant execute on function public.billing_apply_schedule(jsonb) to service_role;

-- billing_user_state, as defined in 20261121000300_billing_functions.sql,
-- with three more keys per subscription: schedule_id, scheduled_plan and
-- scheduled_change_at, from its live schedule (status not_started or active)
-- that has a next phase with another price; null when there is none. Still
-- one call per check-subscription.
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
           'livemode', s.livemode,
           'schedule_id', sc.id,
           'scheduled_plan', sc.scheduled_plan,
           'scheduled_change_at', public.billing_rfc3339(sc.scheduled_change_at)
         ) order by coalesce(s.stripe_created, s.created_at) desc, s.id desc), '[]'::jsonb)
    into v_subscriptions
  from public.subscriptions s
  left join lateral (
    select x.id, x.scheduled_plan, x.scheduled_change_at
    from public.subscription_schedules x
    where x.subscription_id = s.id and x.status in ('not_started', 'active')
    order by x.state_at desc, x.id desc
    limit 1
  ) sc on true
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
