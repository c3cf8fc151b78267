-- billing_apply_event: one Stripe event (or one Stripe API answer) recorded
-- and applied in one transaction, and billing_record_event_failure for the
-- events that could not be applied. The webhook, cancel/resume and the
-- reconcile job all write subscriptions through billing_apply_event
-- (Go: shared/stripesync).
--
-- Conventions as in 20261121000300_billing_functions.sql. Idempotent:
-- CREATE OR REPLACE, and grants can be repeated.

-- billing_refresh_user ---------------------------------------------------------

-- billing_refresh_user recomputes a user's profile snapshot from ALL their
-- subscriptions, with the access rules of shared/access: a subscription
-- grants when it is active or trialing (or past_due when the catalog says
-- so), its plan is paid, and now is before its scheduled end (the earlier of
-- cancel_at and, with cancel_at_period_end, current_period_end). Of several,
-- the one with the latest access wins; with none, the most recently created
-- one is shown and the plan is the free plan. It then sets the usage limits
-- of the effective plan (billing_set_usage_limits: a downgrade lowers a
-- limit and keeps the count), valid until the winner's scheduled end (null
-- while it renews; -infinity for the free plan, whose limits the usage
-- functions always take from billing_plan_limits): after that end the free
-- plan's limits apply without another write, as check-subscription's do.
-- p_catalog is the "catalog" member of billing_apply_event's document.
-- Returns the effective plan.
create or replace function public.billing_refresh_user(p_user_id uuid, p_catalog jsonb)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_customer text;
  v_keeps boolean := coalesce((p_catalog ->> 'past_due_keeps_access')::boolean, false);
  v_free text := p_catalog ->> 'free_plan';
  v_winner record;
  v_shown record;
  v_plan text;
  v_limits jsonb;
  v_until timestamptz;
begin
  -- Serializes snapshot writers of one user; later statements see what
  -- the transactions before us committed.
  select p.stripe_customer_id into v_customer
  from public.profiles p where p.id = p_user_id
  for update;
  if not found then
    return null;
  end if;

  select t.* into v_winner
  from (
    select s.id, s.status, s.plan, s.cancel_at_period_end, s.current_period_end, s.stripe_created,
           case when s.cancel_at_period_end and s.current_period_end is not null
                then least(s.current_period_end, s.cancel_at)
                else s.cancel_at end as scheduled_end
    from public.subscriptions s
    where s.user_id = p_user_id
       or (s.user_id is null and v_customer is not null and s.customer_id = v_customer)
  ) t
  where (t.status in ('active', 'trialing') or (t.status = 'past_due' and v_keeps))
    and coalesce((p_catalog #>> array['plans', t.plan, 'paid'])::boolean, false)
    and (t.scheduled_end is null or now() < t.scheduled_end)
  order by (t.scheduled_end is null) desc, t.scheduled_end desc,
           t.current_period_end desc nulls last, t.stripe_created desc nulls last, t.id collate "C" desc
  limit 1;

  if v_winner.id is not null then
    v_shown := v_winner;
    v_plan := v_winner.plan;
    v_until := v_winner.scheduled_end;
  else
    select s.id, s.status, s.cancel_at_period_end, s.current_period_end into v_shown
    from public.subscriptions s
    where s.user_id = p_user_id
       or (s.user_id is null and v_customer is not null and s.customer_id = v_customer)
    order by s.stripe_created desc nulls last, s.current_period_end desc nulls last, s.id collate "C" desc
    limit 1;
    v_plan := v_free;
    v_until := '-infinity';
  end if;

  update public.profiles p
  set active_plan = v_plan,
      active_status = v_shown.status,
      active_subscription_id = v_shown.id,
      subscription_current_period_end = v_shown.current_period_end,
      cancel_at_period_end = coalesce(v_shown.cancel_at_period_end, false),
      billing_updated_at = now()
  where p.id = p_user_id;

  v_limits := coalesce(p_catalog #> array['plans', v_plan, 'limits'], '{}'::jsonb);
  perform public.billing_set_usage_limits(p_user_id, v_limits,
    coalesce(nullif(p_catalog ->> 'time_zone', ''), 'Asia/Tokyo'), v_until);
  return v_plan;
end;
$$;

revoke all on function public.billing_refresh_user(uuid, jsonb) from public, anon, authenticated;

-- billing_link_customer --------------------------------------------------------

-- billing_link_customer links a user to a Stripe customer, never relinking:
-- 'linked', 'already_linked', 'unknown_user' (no profile),
-- 'user_has_other_customer' or 'customer_has_other_user' (nothing changed).
create or replace function public.billing_link_customer(p_user_id uuid, p_customer_id text)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_current text;
begin
  select p.stripe_customer_id into v_current
  from public.profiles p where p.id = p_user_id
  for update;
  if not found then
    return 'unknown_user';
  end if;
  if v_current = p_customer_id then
    return 'already_linked';
  end if;
  if v_current is not null then
    return 'user_has_other_customer';
  end if;
  if exists (select 1 from public.profiles p where p.stripe_customer_id = p_customer_id) then
    return 'customer_has_other_user';
  end if;
  update public.profiles p
  set stripe_customer_id = p_customer_id, billing_updated_at = now()
  where p.id = p_user_id;
  return 'linked';
end;
$$;

revoke all on function public.billing_link_customer(uuid, text) from public, anon, authenticated;

-- billing_enqueue_email --------------------------------------------------------

-- billing_enqueue_email writes one logical email (p_email: {kind,
-- dedupe_key, subscription_id, customer_id, template_data}) once: to the
-- outbox when its user is known (the subscription's user, else the user of
-- the customer), else to billing_held_emails by customer. Returns the new
-- outbox row's id, or null (held, or already there).
create or replace function public.billing_enqueue_email(p_event_id text, p_email jsonb, p_locale text)
returns bigint
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_key text := p_email ->> 'dedupe_key';
  v_sub text := nullif(p_email ->> 'subscription_id', '');
  v_customer text := nullif(p_email ->> 'customer_id', '');
  v_user uuid;
  v_id bigint;
begin
  if v_key is null or v_key = '' or coalesce(p_email ->> 'kind', '') = '' then
    raise exception 'an email needs a kind and a dedupe_key' using errcode = '22023';
  end if;
  if exists (select 1 from public.email_outbox o where o.dedupe_key = v_key) then
    return null;
  end if;
  if v_sub is not null then
    select s.user_id, coalesce(v_customer, s.customer_id) into v_user, v_customer
    from public.subscriptions s where s.id = v_sub;
    if not found then
      -- SELECT INTO set both targets to null: keep the email's customer, so
      -- that an invoice of a subscription not stored yet is held, not lost.
      v_customer := nullif(p_email ->> 'customer_id', '');
    end if;
  end if;
  if v_user is null and v_customer is not null then
    select p.id into v_user from public.profiles p where p.stripe_customer_id = v_customer;
  end if;
  if v_user is null then
    if v_customer is not null then
      insert into public.billing_held_emails
        (dedupe_key, customer_id, subscription_id, event_id, kind, locale, template_data)
      values (v_key, v_customer, v_sub, p_event_id, p_email ->> 'kind', p_locale,
              coalesce(p_email -> 'template_data', '{}'::jsonb))
      on conflict (dedupe_key) do nothing;
    end if;
    return null;
  end if;
  insert into public.email_outbox
    (event_id, kind, user_id, locale, template_data, status, attempts, next_attempt_at, dedupe_key)
  values (p_event_id, p_email ->> 'kind', v_user, p_locale,
          coalesce(p_email -> 'template_data', '{}'::jsonb), 'pending', 0, now(), v_key)
  on conflict do nothing
  returning id into v_id;
  return v_id;
end;
$$;

revoke all on function public.billing_enqueue_email(text, jsonb, text) from public, anon, authenticated;

-- billing_release_held_emails moves the held emails of a customer (or of
-- one subscription) to the outbox for p_user_id and returns the new ids.
create or replace function public.billing_release_held_emails(
  p_user_id uuid, p_customer_id text, p_subscription_id text)
returns bigint[]
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_ids bigint[];
begin
  with moved as (
    delete from public.billing_held_emails h
    where (p_subscription_id is null and h.customer_id = p_customer_id)
       or (p_subscription_id is not null and h.subscription_id = p_subscription_id)
    returning h.*
  ), inserted as (
    insert into public.email_outbox
      (event_id, kind, user_id, locale, template_data, status, attempts, next_attempt_at, dedupe_key)
    select m.event_id, m.kind, p_user_id, m.locale, m.template_data, 'pending', 0, now(), m.dedupe_key
    from moved m
    order by m.created_at, m.dedupe_key
    on conflict do nothing
    returning id
  )
  select coalesce(array_agg(id order by id), '{}') into v_ids from inserted;
  return v_ids;
end;
$$;

revoke all on function public.billing_release_held_emails(uuid, text, text) from public, anon, authenticated;

-- billing_apply_event ----------------------------------------------------------

-- billing_apply_event records a Stripe event and applies its effects in one
-- transaction, so that a failure leaves no trace and Stripe's retry applies
-- it. p_event (built by Go, shared/stripesync):
--
--   {"event": {"id", "type", "livemode", "created", "api_version",
--              "status": "processed"|"ignored", "payload"}   -- absent for API answers
--    "customer_id": "cus_..."                                 -- serializes per customer
--    "subscription": {id, customer_id, user_id, status, price_id, plan, quantity,
--                     livemode, current_period_start, current_period_end,
--                     cancel_at_period_end, cancel_at, canceled_at, ended_at,
--                     trial_start, trial_end, cancellation_reason,
--                     cancellation_feedback, cancellation_comment, stripe_created,
--                     state_at, source: "event"|"fetch"|"api"|"event_tie", raw,
--                     unknown_price: bool}                    -- or absent
--    "require_subscription": "sub_..."   -- answer needs_fetch when not stored
--    "link": {"user_id", "customer_id"}  -- checkout.session.completed
--    "emails": [{kind, dedupe_key, subscription_id, customer_id, template_data}],
--    "locale": "en"|"ja",
--    "catalog": {"free_plan", "past_due_keeps_access", "time_zone",
--                "plans": {"<plan>": {"paid": bool, "limits": {...}}}}}
--
-- The event row is inserted ON CONFLICT (id) DO UPDATE only over a 'failed'
-- row: any other stored row makes this a duplicate ({"duplicate": true},
-- nothing changed). A concurrent second delivery waits for the first (on the
-- customer's advisory lock, or on the primary key) and then sees the
-- duplicate.
--
-- A subscription from an event applies when its state_at (event.created) is
-- later than the stored one and is skipped ("stale") when earlier; in the
-- same second the answer is {"needs_fetch": "sub_...", "state_at": stored}
-- and nothing is written: the caller fetches the subscription from Stripe
-- and calls again with source "fetch". An answer of Stripe's API ("fetch",
-- "api") is stamped with a LOWER bound of when Stripe read it and applies
-- only when STRICTLY later than the stored state_at: in the same second the
-- stored state may be newer than the read. A "fetch" that does not apply
-- answers needs_fetch again (nothing written, so the event is not recorded:
-- the caller fetches later or fails for Stripe to retry); an "api" answer
-- is "stale". "event_tie" (an event's payload on a same-second tie when
-- Stripe no longer knows the subscription) applies at >=.
--
-- A price not in the catalog (unknown_price, plan "") is refused, nothing
-- written ({"status": "unknown_price"}), only when the state would grant
-- access (active or trialing, or past_due with past_due_keeps_access) and
-- the row is not stored with a plan of the catalog; otherwise the state
-- applies and the row keeps its stored plan and price (a new row gets the
-- price and no plan).
-- A subscription whose user is unknown is stored with
-- user_id null by customer and attached when the customer is linked.
--
-- The catalog's limits are stored first (billing_sync_catalog: a read
-- unless they changed). Every affected user's snapshot and usage limits are
-- recomputed from all their subscriptions (billing_refresh_user). Emails go to the outbox once
-- per dedupe_key (or are held until the user is known).
--
-- Result: {"duplicate", "needs_fetch", "state_at", "status", "subscription":
-- "applied"|"stale"|"none", "user_ids", "email_ids", "link", "held_emails",
-- "unknown_price"}; status is "processed", "ignored", "duplicate",
-- "needs_fetch" or "unknown_price".
create or replace function public.billing_apply_event(p_event jsonb)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_ev jsonb := p_event -> 'event';
  v_sub jsonb := p_event -> 'subscription';
  v_link jsonb := p_event -> 'link';
  v_catalog jsonb := coalesce(p_event -> 'catalog', '{}'::jsonb);
  v_locale text := nullif(p_event ->> 'locale', '');
  v_event_id text := nullif(v_ev ->> 'id', '');
  v_status text := coalesce(nullif(v_ev ->> 'status', ''), 'processed');
  v_customer text := coalesce(nullif(p_event ->> 'customer_id', ''), nullif(v_sub ->> 'customer_id', ''));
  v_required text := nullif(p_event ->> 'require_subscription', '');
  v_sub_id text := nullif(v_sub ->> 'id', '');
  v_source text := coalesce(v_sub ->> 'source', 'event');
  v_state_at timestamptz := (v_sub ->> 'state_at')::timestamptz;
  v_unknown_price boolean := coalesce((v_sub ->> 'unknown_price')::boolean, false);
  v_keeps boolean := coalesce((v_catalog ->> 'past_due_keeps_access')::boolean, false);
  v_price text := nullif(v_sub ->> 'price_id', '');
  v_plan text := nullif(v_sub ->> 'plan', '');
  v_applies boolean;
  v_email_event text;
  v_stored record;
  v_found boolean := false;
  v_sub_result text := 'none';
  v_user uuid;
  v_meta_user uuid := nullif(v_sub ->> 'user_id', '')::uuid;
  v_link_user uuid := nullif(v_link ->> 'user_id', '')::uuid;
  v_link_customer text := nullif(v_link ->> 'customer_id', '');
  v_link_result text;
  v_users uuid[] := '{}';
  v_email_ids bigint[] := '{}';
  v_id bigint;
  v_email jsonb;
  v_held integer;
  v_u uuid;
begin
  if v_ev is not null and (v_event_id is null or coalesce(v_ev ->> 'type', '') = '') then
    raise exception 'event needs an id and a type' using errcode = '22023';
  end if;
  if v_status not in ('processed', 'ignored') then
    raise exception 'event status must be processed or ignored, got %', v_status using errcode = '22023';
  end if;
  if v_sub is not null and (v_sub_id is null or v_state_at is null
      or coalesce(v_sub ->> 'customer_id', '') = '' or coalesce(v_sub ->> 'status', '') = '') then
    raise exception 'subscription needs id, customer_id, status and state_at' using errcode = '22023';
  end if;
  if v_source not in ('event', 'fetch', 'api', 'event_tie') then
    raise exception 'subscription source must be event, fetch, api or event_tie, got %', v_source
      using errcode = '22023';
  end if;
  if v_sub is null and v_ev is null then
    raise exception 'nothing to apply: give an event or a subscription' using errcode = '22023';
  end if;

  -- The catalog's limits (billing_plan_limits), for users without usage
  -- rows of their own; only a read unless the catalog changed. First, so
  -- that a writer waits for no other lock while holding its own.
  if v_catalog ? 'plans' then
    perform public.billing_sync_catalog(v_catalog);
  end if;

  -- One customer's events apply one at a time: links, subscriptions,
  -- snapshots and held emails of a customer never race.
  if v_customer is not null then
    perform pg_advisory_xact_lock(hashtextextended('billing:customer:' || v_customer, 0));
  end if;

  if v_event_id is not null and exists (
      select 1 from public.stripe_events e where e.id = v_event_id and e.status <> 'failed') then
    return jsonb_build_object('duplicate', true, 'status', 'duplicate');
  end if;

  -- Decide before writing anything whether Stripe must be asked first.
  if v_sub_id is not null then
    select s.state_at, s.user_id, s.plan, s.price_id into v_stored
    from public.subscriptions s where s.id = v_sub_id
    for update;
    v_found := found;
    -- An event in the stored state's second, or a fetched answer (a lower
    -- bound of Stripe's read) not later than it: Stripe must be asked (again).
    if v_found and ((v_source = 'event' and v_state_at = v_stored.state_at)
                    or (v_source = 'fetch' and v_state_at <= v_stored.state_at)) then
      return jsonb_build_object('duplicate', false, 'needs_fetch', v_sub_id, 'status', 'needs_fetch',
        'state_at', v_stored.state_at);
    end if;
    v_applies := not v_found or v_state_at > v_stored.state_at
      or (v_source = 'event_tie' and v_state_at = v_stored.state_at);
    if v_applies and v_unknown_price then
      if (v_sub ->> 'status' in ('active', 'trialing') or (v_sub ->> 'status' = 'past_due' and v_keeps))
         and not (v_found and v_stored.plan is not null
                  and v_catalog #> array['plans', v_stored.plan] is not null) then
        -- It would grant access under a plan nobody knows.
        return jsonb_build_object('duplicate', false, 'status', 'unknown_price', 'subscription', 'none',
          'unknown_price', v_price);
      end if;
      if v_found then
        v_plan := v_stored.plan;
        v_price := v_stored.price_id;
      end if;
    end if;
  end if;
  if v_required is not null and v_required is distinct from v_sub_id
      and not exists (select 1 from public.subscriptions s where s.id = v_required) then
    return jsonb_build_object('duplicate', false, 'needs_fetch', v_required, 'status', 'needs_fetch');
  end if;

  -- The idempotency record, in the same transaction as the effects.
  if v_event_id is not null then
    insert into public.stripe_events as e
      (id, type, livemode, api_version, stripe_created, payload, status, error, attempts,
       received_at, processed_at)
    values (v_event_id, v_ev ->> 'type', coalesce((v_ev ->> 'livemode')::boolean, false),
            nullif(v_ev ->> 'api_version', ''), (v_ev ->> 'created')::timestamptz,
            v_ev -> 'payload', v_status, null, 1, now(), now())
    on conflict (id) do update
      set status = excluded.status, error = null, attempts = e.attempts + 1,
          payload = coalesce(excluded.payload, e.payload), processed_at = now()
      where e.status = 'failed'
    returning e.id into v_email_event;
    if v_email_event is null then
      return jsonb_build_object('duplicate', true, 'status', 'duplicate');
    end if;
    if v_status = 'ignored' then
      return jsonb_build_object('duplicate', false, 'status', 'ignored', 'subscription', 'none',
        'user_ids', '[]'::jsonb, 'email_ids', '[]'::jsonb);
    end if;
  else
    v_email_event := 'sync:' || v_source || ':' || v_sub_id || ':'
      || extract(epoch from v_state_at)::bigint::text;
  end if;

  -- The customer link (checkout.session.completed).
  if v_link_user is not null and v_link_customer is not null then
    v_link_result := public.billing_link_customer(v_link_user, v_link_customer);
    if v_link_result in ('linked', 'already_linked') then
      update public.subscriptions s set user_id = v_link_user, updated_at = now()
      where s.customer_id = v_link_customer and s.user_id is null;
      v_email_ids := v_email_ids || public.billing_release_held_emails(v_link_user, v_link_customer, null);
      v_users := v_users || v_link_user;
    elsif v_link_result = 'user_has_other_customer' and v_required is not null then
      -- The user paid through this session: its subscription is theirs,
      -- but the customer is not relinked.
      update public.subscriptions s set user_id = v_link_user, updated_at = now()
      where s.id = v_required and s.user_id is null;
      v_email_ids := v_email_ids || public.billing_release_held_emails(v_link_user, v_link_customer, v_required);
      v_users := v_users || v_link_user;
    end if;
  end if;

  -- The subscription.
  if v_sub_id is not null then
    select p.id into v_user from public.profiles p where p.stripe_customer_id = v_sub ->> 'customer_id';
    if v_user is null and v_found then
      v_user := v_stored.user_id;
    end if;
    if v_user is null and v_meta_user is not null then
      -- metadata.supabase_uid, set by our checkout: link like a checkout would.
      v_link_result := coalesce(v_link_result,
        public.billing_link_customer(v_meta_user, v_sub ->> 'customer_id'));
      if exists (select 1 from public.profiles p where p.id = v_meta_user
                 and p.stripe_customer_id = v_sub ->> 'customer_id') then
        v_user := v_meta_user;
        update public.subscriptions s set user_id = v_user, updated_at = now()
        where s.customer_id = v_sub ->> 'customer_id' and s.user_id is null;
        v_email_ids := v_email_ids || public.billing_release_held_emails(v_user, v_sub ->> 'customer_id', null);
      end if;
    end if;
    if v_found and v_stored.user_id is not null and v_stored.user_id is distinct from v_user then
      v_users := v_users || v_stored.user_id;
    end if;

    if v_applies then
      insert into public.subscriptions as s
        (id, user_id, customer_id, livemode, status, price_id, plan, quantity,
         current_period_start, current_period_end, cancel_at_period_end, cancel_at, canceled_at,
         ended_at, trial_start, trial_end, cancellation_reason, cancellation_feedback,
         cancellation_comment, stripe_created, state_at, raw, updated_at)
      values (v_sub_id, v_user, v_sub ->> 'customer_id',
              coalesce((v_sub ->> 'livemode')::boolean, false), v_sub ->> 'status',
              v_price, v_plan,
              (v_sub ->> 'quantity')::integer,
              (v_sub ->> 'current_period_start')::timestamptz, (v_sub ->> 'current_period_end')::timestamptz,
              coalesce((v_sub ->> 'cancel_at_period_end')::boolean, false),
              (v_sub ->> 'cancel_at')::timestamptz, (v_sub ->> 'canceled_at')::timestamptz,
              (v_sub ->> 'ended_at')::timestamptz, (v_sub ->> 'trial_start')::timestamptz,
              (v_sub ->> 'trial_end')::timestamptz, nullif(v_sub ->> 'cancellation_reason', ''),
              nullif(v_sub ->> 'cancellation_feedback', ''), nullif(v_sub ->> 'cancellation_comment', ''),
              (v_sub ->> 'stripe_created')::timestamptz, v_state_at, v_sub -> 'raw', now())
      on conflict (id) do update
        set user_id = excluded.user_id, customer_id = excluded.customer_id,
            livemode = excluded.livemode, status = excluded.status, price_id = excluded.price_id,
            plan = excluded.plan, quantity = excluded.quantity,
            current_period_start = excluded.current_period_start,
            current_period_end = excluded.current_period_end,
            cancel_at_period_end = excluded.cancel_at_period_end, cancel_at = excluded.cancel_at,
            canceled_at = excluded.canceled_at, ended_at = excluded.ended_at,
            trial_start = excluded.trial_start, trial_end = excluded.trial_end,
            cancellation_reason = excluded.cancellation_reason,
            cancellation_feedback = excluded.cancellation_feedback,
            cancellation_comment = excluded.cancellation_comment,
            stripe_created = coalesce(excluded.stripe_created, s.stripe_created),
            state_at = excluded.state_at, raw = excluded.raw, updated_at = now();
      v_sub_result := 'applied';
    else
      v_sub_result := 'stale';
      if v_user is not null and v_stored.user_id is null then
        update public.subscriptions s set user_id = v_user, updated_at = now() where s.id = v_sub_id;
      end if;
    end if;
    if v_user is not null then
      v_users := v_users || v_user;
    end if;
  end if;

  -- Emails, once per dedupe key (held while the user is unknown).
  for v_email in select e.value from jsonb_array_elements(coalesce(p_event -> 'emails', '[]'::jsonb)) e loop
    v_id := public.billing_enqueue_email(v_email_event, v_email, v_locale);
    if v_id is not null then
      v_email_ids := v_email_ids || v_id;
    end if;
  end loop;
  select count(*) into v_held from public.billing_held_emails h where h.customer_id = v_customer;

  -- Snapshots and usage limits of every affected user, in a fixed order.
  for v_u in select distinct u from unnest(v_users) u where u is not null order by u loop
    perform public.billing_refresh_user(v_u, v_catalog);
  end loop;

  return jsonb_build_object(
    'duplicate', false,
    'status', v_status,
    'subscription', v_sub_result,
    'user_ids', coalesce((select jsonb_agg(distinct u) from unnest(v_users) u where u is not null), '[]'::jsonb),
    'email_ids', to_jsonb(v_email_ids),
    'link', v_link_result,
    'held_emails', v_held
  );
end;
$$;

revoke all on function public.billing_apply_event(jsonb) from public, anon, authenticated;
grant execute on function public.billing_apply_event(jsonb) to service_role;

-- billing_record_event_failure -------------------------------------------------

-- billing_record_event_failure keeps a 'failed' row with the error for an
-- event that could not be applied (its own call, after the apply rolled
-- back), so that the reconcile job can replay it. A failed row does not
-- count as processed: the next delivery applies the event. An event already
-- processed or ignored is never downgraded. Returns {"recorded": bool,
-- "attempts": n}.
create or replace function public.billing_record_event_failure(
  p_event_id text,
  p_type text,
  p_livemode boolean,
  p_created timestamptz,
  p_payload jsonb,
  p_error text
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_attempts integer;
begin
  if p_event_id is null or p_event_id = '' or p_type is null or p_type = '' then
    raise exception 'p_event_id and p_type are required' using errcode = '22023';
  end if;
  insert into public.stripe_events as e
    (id, type, livemode, api_version, stripe_created, payload, status, error, attempts, received_at)
  values (p_event_id, p_type, coalesce(p_livemode, false), nullif(p_payload ->> 'api_version', ''),
          p_created, p_payload, 'failed', left(p_error, 2000), 1, now())
  on conflict (id) do update
    set error = excluded.error, attempts = e.attempts + 1,
        payload = coalesce(excluded.payload, e.payload)
    where e.status = 'failed'
  returning e.attempts into v_attempts;
  return jsonb_build_object('recorded', v_attempts is not null, 'attempts', v_attempts);
end;
$$;

revoke all on function public.billing_record_event_failure(text, text, boolean, timestamptz, jsonb, text)
  from public, anon, authenticated;
grant execute on function public.billing_record_event_failure(text, text, boolean, timestamptz, jsonb, text)
  to service_role;
