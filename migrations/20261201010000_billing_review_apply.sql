-- Review fixes of the webhook's SQL (issue 9), one transaction each call:
--
--  * a subscription paid through a session on a second customer of a user
--    belongs to that user whichever of its events comes first;
--  * a switch to a price the catalog does not know fails in a granting
--    state (the stored price is kept only while the object stays on it:
--    grandfathered);
--  * only subscriptions of the catalog's mode ("mode" of the catalog
--    document, STRIPE_MODE) count for the snapshot and the usage limits;
--  * a second granting subscription of a user is reported in the answer
--    (concurrent_subscriptions);
--  * paid invoices are remembered, so that a payment_failed email of a
--    paid invoice is superseded instead of sent (billing_outbox_claim);
--  * the outbox is unique by dedupe key: two held emails of one event and
--    kind are both kept when the customer is linked.
--
-- Redefines billing_refresh_user, billing_enqueue_email,
-- billing_release_held_emails and billing_apply_event of
-- 20261121020100_billing_apply_event.sql. Idempotent.

-- Tables -------------------------------------------------------------------------

create table if not exists public.billing_paid_invoices (
  invoice_id text primary key,               -- Stripe invoice ID (in_...)
  customer_id text,
  event_id text not null,                    -- the event that said it was paid
  created_at timestamptz not null default now()
);

alter table public.billing_paid_invoices enable row level security;
revoke all on public.billing_paid_invoices from anon, authenticated;
grant all on public.billing_paid_invoices to service_role;

-- One row per dedupe key (email_outbox_dedupe_key_key); (event_id, kind)
-- stays unique only for rows written without a key (by hand).
alter table public.email_outbox drop constraint if exists email_outbox_event_id_kind_key;
create unique index if not exists email_outbox_event_kind_without_key
  on public.email_outbox (event_id, kind) where dedupe_key is null;

-- 'superseded': not sent because its state no longer held when it was due.
alter table public.email_outbox drop constraint if exists email_outbox_status_check;
alter table public.email_outbox add constraint email_outbox_status_check
  check (status in ('pending', 'sent', 'logged', 'failed', 'gave_up', 'superseded'));

-- billing_granting_subscriptions -------------------------------------------------

-- billing_granting_subscriptions lists the subscriptions of a user, of the
-- catalog's mode, that grant access now (the rules of billing_refresh_user),
-- best first. More than one is a second live subscription to report.
create or replace function public.billing_granting_subscriptions(p_user_id uuid, p_catalog jsonb)
returns text[]
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(array_agg(t.id order by (t.scheduled_end is null) desc, t.scheduled_end desc,
                            t.current_period_end desc nulls last, t.stripe_created desc nulls last,
                            t.id collate "C" desc), '{}')
  from (
    select s.id, s.current_period_end, s.stripe_created,
           case when s.cancel_at_period_end and s.current_period_end is not null
                then least(s.current_period_end, s.cancel_at)
                else s.cancel_at end as scheduled_end
    from public.subscriptions s
    left join public.profiles p on p.id = p_user_id
    where (s.user_id = p_user_id
           or (s.user_id is null and p.stripe_customer_id is not null and s.customer_id = p.stripe_customer_id))
      and (nullif(p_catalog ->> 'mode', '') is null or s.livemode = (p_catalog ->> 'mode' = 'live'))
      and (s.status in ('active', 'trialing')
           or (s.status = 'past_due' and coalesce((p_catalog ->> 'past_due_keeps_access')::boolean, false)))
      and coalesce((p_catalog #>> array['plans', s.plan, 'paid'])::boolean, false)
  ) t
  where t.scheduled_end is null or now() < t.scheduled_end;
$$;

revoke all on function public.billing_granting_subscriptions(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.billing_granting_subscriptions(uuid, jsonb) to service_role;

-- billing_refresh_user -----------------------------------------------------------

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
-- Only subscriptions of the catalog's "mode" count (all when it has none).
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
  v_mode text := nullif(p_catalog ->> 'mode', '');
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
    where (s.user_id = p_user_id
           or (s.user_id is null and v_customer is not null and s.customer_id = v_customer))
      and (v_mode is null or s.livemode = (v_mode = 'live'))
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
    where (s.user_id = p_user_id
           or (s.user_id is null and v_customer is not null and s.customer_id = v_customer))
      and (v_mode is null or s.livemode = (v_mode = 'live'))
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

-- billing_enqueue_email --------------------------------------------------------

-- billing_enqueue_email writes one logical email (p_email: {kind,
-- dedupe_key, subscription_id, customer_id, template_data}) once: to the
-- outbox when its user is known (a superseded row of that key becomes
-- pending again: its state holds once more) (the subscription's user, else the user of
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
  -- An email superseded before it was sent whose state holds again (a
  -- cancel, a resume and the same cancel within one second) is due again.
  update public.email_outbox o
  set status = 'pending', next_attempt_at = now()
  where o.dedupe_key = v_key and o.status = 'superseded'
  returning o.id into v_id;
  if v_id is not null then
    return v_id;
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
  on conflict (dedupe_key) do nothing
  returning id into v_id;
  return v_id;
end;
$$;

revoke all on function public.billing_enqueue_email(text, jsonb, text) from public, anon, authenticated;

-- billing_release_held_emails --------------------------------------------------

-- billing_release_held_emails moves the held emails of a customer (or of
-- one subscription) to the outbox for p_user_id and returns the new ids.
-- Every held email is kept: the outbox is unique by dedupe key only, so
-- two emails of one kind and event (an event's payload and the state
-- fetched for it) both move.
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
    on conflict (dedupe_key) do nothing
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
--    "paid_invoice": "in_..."          -- invoice.paid / payment_succeeded
--    "locale": "en"|"ja",
--    "catalog": {"free_plan", "past_due_keeps_access", "time_zone",
--                "mode": "test"|"live",
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
-- the row is not stored with a plan of the catalog and that same price (a
-- new subscription, or a switch to an unknown price); otherwise the state
-- applies and the row keeps its stored plan and price (a new row gets the
-- price and no plan).
-- A subscription on a second customer of a user (checkout.session.completed
-- whose user is linked to another customer) belongs to that user in either
-- order of its events.
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
-- "unknown_price", "concurrent_subscriptions": {"<user>": [sub, ...]} for
-- users with more than one granting subscription}; status is "processed", "ignored", "duplicate",
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
  v_paid_invoice text := nullif(p_event ->> 'paid_invoice', '');
  v_granting text[];
  v_concurrent jsonb := '{}'::jsonb;
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
                  and v_catalog #> array['plans', v_stored.plan] is not null
                  and v_stored.price_id is not distinct from v_price) then
        -- It would grant access under a plan nobody knows: a new
        -- subscription, or a switch to a price the catalog does not list.
        -- (A row that stays on its stored price is grandfathered: it keeps
        -- its plan, and Go logs an error.)
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

  -- A paid invoice: a payment_failed email of it that is still due is
  -- superseded (billing_outbox_claim).
  if v_paid_invoice is not null then
    insert into public.billing_paid_invoices (invoice_id, customer_id, event_id)
    values (v_paid_invoice, v_customer, v_email_event)
    on conflict (invoice_id) do nothing;
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
    if v_user is null and v_link_result = 'user_has_other_customer' and v_sub_id = v_required then
      -- The user paid through this session on a second customer: its
      -- subscription is theirs whether it was stored before the checkout
      -- (attached above) or arrives with it (here).
      v_user := v_link_user;
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
    -- More than one subscription that grants (two tabs, the Dashboard):
    -- reported, the best one wins the snapshot.
    v_granting := public.billing_granting_subscriptions(v_u, v_catalog);
    if cardinality(v_granting) > 1 then
      v_concurrent := v_concurrent || jsonb_build_object(v_u::text, to_jsonb(v_granting));
    end if;
  end loop;

  return jsonb_build_object(
    'duplicate', false,
    'status', v_status,
    'subscription', v_sub_result,
    'user_ids', coalesce((select jsonb_agg(distinct u) from unnest(v_users) u where u is not null), '[]'::jsonb),
    'email_ids', to_jsonb(v_email_ids),
    'link', v_link_result,
    'held_emails', v_held,
    'concurrent_subscriptions', v_concurrent
  );
end;
$$;

revoke all on function public.billing_apply_event(jsonb) from public, anon, authenticated;
grant execute on function public.billing_apply_event(jsonb) to service_role;
