-- The apply path does only the work its answer needs.
--
-- Measured per fresh webhook event under the load driver (16 senders,
-- pg_stat_statements and track_functions; docs/benchmarks.md, issue 11's
-- fourth session), three parts of billing_apply_event's time computed
-- things nobody used or that were already known:
--
--   - billing_sync_catalog compared the catalog document with every row of
--     billing_plan_limits at every call (0.23 ms per event), although the
--     catalog changes once per deploy. It now looks the document's
--     fingerprint up in billing_catalog_synced, the fingerprints of the
--     documents known to match the table, and compares only on a miss.
--     Any write to billing_plan_limits, by this function or by hand, first
--     forgets every fingerprint (a statement trigger, under the catalog
--     lock), and a fingerprint is recorded only after a comparison made
--     under that lock (shared), so a recorded fingerprint always means
--     "the table holds this catalog".
--   - billing_refresh_user wrote the usage limits through
--     billing_set_usage_limits, which then built its answer (every
--     counter's usage, through billing_get_usage and billing_usage_rule)
--     only to be discarded: 0.32 ms per event. The writes are now
--     billing_write_usage_limits (no answer; one statement for all
--     counters after one validating read), and billing_set_usage_limits is
--     those writes plus its answer, as before.
--   - billing_apply_event then called billing_granting_subscriptions, which
--     read the user's profile and subscriptions again to find what
--     billing_refresh_user had just found (0.22 ms per event).
--     billing_refresh_user_state does both: it orders the user's granting
--     subscriptions once, the first is the snapshot's winner, and it
--     returns the whole list.
--   - The document carried the subscription's raw object twice: as the
--     event payload's data.object and as "raw" (3.5 of its 8 KB for a
--     typical event), and Postgres parsed both. Go now sends
--     "raw_is_event_object": true instead of "raw" when it is that object,
--     and billing_apply_event reads it from the payload.
--   - Calls whose result is not needed are assignments, not PERFORM, so
--     that PL/pgSQL evaluates them as simple expressions instead of
--     running a query for each.
--
-- Same answers, rows and errors; billing_refresh_user keeps its signature
-- (the plan billing_refresh_user_state wrote). Idempotent: the table and
-- trigger are created when missing, the functions created or replaced.

-- Catalog fingerprints ------------------------------------------------------

create table if not exists public.billing_catalog_synced (
  fingerprint text primary key,        -- md5 of the catalog's plans, free plan, time zone, counters
  plans integer not null,              -- how many plans the table holds
  synced_at timestamptz not null default now()
);

alter table public.billing_catalog_synced enable row level security;
revoke all on public.billing_catalog_synced from public, anon, authenticated;
grant select, insert, update, delete on public.billing_catalog_synced to service_role;

-- billing_catalog_forget runs before every statement that writes
-- billing_plan_limits: it takes the catalog lock (so no fingerprint can be
-- recorded from what the table held before this write) and forgets every
-- fingerprint.
create or replace function public.billing_catalog_forget()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  perform pg_advisory_xact_lock(hashtextextended('billing:catalog', 0));
  delete from public.billing_catalog_synced;
  return null;
end;
$$;
revoke all on function public.billing_catalog_forget() from public, anon, authenticated;

create or replace trigger billing_plan_limits_forget_synced
  before insert or update or delete or truncate on public.billing_plan_limits
  for each statement execute function public.billing_catalog_forget();

-- billing_sync_catalog: as in 20261201040100_usage_catalog.sql (same
-- document, checks, answer and writes), with the fingerprint first.
create or replace function public.billing_sync_catalog(p_catalog jsonb)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_free text := p_catalog ->> 'free_plan';
  v_tz text := coalesce(nullif(p_catalog ->> 'time_zone', ''), 'Asia/Tokyo');
  v_kinds jsonb := coalesce(p_catalog -> 'counters', '{}'::jsonb);
  v_plans jsonb := '{}'::jsonb; -- plan -> normalized limits
  v_plan text;
  v_def jsonb;
  v_limits jsonb;
  v_key text;
  v_value jsonb;
  v_number numeric;
  v_fingerprint text;
  v_count integer;
begin
  if p_catalog is null or jsonb_typeof(p_catalog) <> 'object'
     or jsonb_typeof(p_catalog -> 'plans') is distinct from 'object' then
    raise exception 'p_catalog must be {"free_plan", "time_zone", "plans": {"<plan>": {"limits": {...}}}}'
      using errcode = '22023';
  end if;
  if v_free is null or v_free = '' or not (p_catalog -> 'plans') ? v_free then
    raise exception 'free_plan % is not a plan of the catalog', coalesce(v_free, '<null>')
      using errcode = '22023';
  end if;
  if jsonb_typeof(v_kinds) = 'null' then
    v_kinds := '{}'::jsonb;
  end if;
  if jsonb_typeof(v_kinds) <> 'object' then
    raise exception 'counters must be an object of counter -> "cap" | "monthly"' using errcode = '22023';
  end if;

  -- The common case: this document was found to match before, and the
  -- table has not been written since.
  v_fingerprint := md5(jsonb_build_array(p_catalog -> 'plans', v_free, v_tz, v_kinds)::text);
  select c.plans into v_count from public.billing_catalog_synced c where c.fingerprint = v_fingerprint;
  if found then
    return jsonb_build_object('changed', false, 'plans', v_count);
  end if;

  -- A document not seen since the last write: compare it, under the
  -- catalog lock shared with other readers (a writer holds it alone
  -- from before its write until it commits), and remember it if it
  -- matches.
  if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz, v_kinds) then
    perform pg_advisory_xact_lock_shared(hashtextextended('billing:catalog', 0));
    if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz, v_kinds) then
      select count(*) into v_count from public.billing_plan_limits;
      insert into public.billing_catalog_synced (fingerprint, plans) values (v_fingerprint, v_count)
      on conflict (fingerprint) do nothing;
      return jsonb_build_object('changed', false, 'plans', v_count);
    end if;
  end if;

  perform now() at time zone v_tz; -- 22023 for an unknown time zone
  for v_key, v_value in select e.key, e.value from jsonb_each(v_kinds) e loop
    if v_key = '' or v_value is distinct from '"cap"'::jsonb and v_value is distinct from '"monthly"'::jsonb then
      raise exception 'counter % must be "cap" or "monthly", got %', v_key, v_value using errcode = '22023';
    end if;
  end loop;
  for v_plan, v_def in select e.key, e.value from jsonb_each(p_catalog -> 'plans') e loop
    if v_plan = '' or jsonb_typeof(v_def) <> 'object'
       or coalesce(jsonb_typeof(v_def -> 'limits'), 'object') <> 'object' then
      raise exception 'plan % must be an object with a "limits" object', v_plan using errcode = '22023';
    end if;
    v_limits := '{}'::jsonb;
    for v_key, v_value in select e.key, e.value from jsonb_each(coalesce(v_def -> 'limits', '{}'::jsonb)) e loop
      if v_key = '' then
        raise exception 'counter names must not be empty (plan %)', v_plan using errcode = '22023';
      end if;
      if jsonb_typeof(v_value) = 'number' then
        v_number := (v_value #>> '{}')::numeric;
        if v_number <> trunc(v_number) or v_number < 0 or v_number > 2147483647 then
          raise exception 'limit % of plan % must be a non-negative integer or null, got %', v_key, v_plan, v_value
            using errcode = '22023';
        end if;
        v_value := to_jsonb(v_number::integer);
      elsif jsonb_typeof(v_value) <> 'null' then
        raise exception 'limit % of plan % must be a non-negative integer or null, got %', v_key, v_plan, v_value
          using errcode = '22023';
      end if;
      v_limits := v_limits || jsonb_build_object(v_key, v_value);
    end loop;
    v_plans := v_plans || jsonb_build_object(v_plan, v_limits);
  end loop;

  -- One writer at a time; a caller that waited sees the new rows and
  -- writes nothing.
  perform pg_advisory_xact_lock(hashtextextended('billing:catalog', 0));
  if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz, v_kinds) then
    select count(*) into v_count from public.billing_plan_limits;
    insert into public.billing_catalog_synced (fingerprint, plans) values (v_fingerprint, v_count)
    on conflict (fingerprint) do nothing;
    return jsonb_build_object('changed', false, 'plans', v_count);
  end if;
  delete from public.billing_plan_limits;
  insert into public.billing_plan_limits (plan, is_free, limits, time_zone, kinds, updated_at)
  select e.key, e.key = v_free, e.value, v_tz, v_kinds, now()
  from jsonb_each(v_plans) e;
  select count(*) into v_count from jsonb_object_keys(v_plans);
  insert into public.billing_catalog_synced (fingerprint, plans) values (v_fingerprint, v_count);
  return jsonb_build_object('changed', true, 'plans', v_count);
end;
$$;

revoke all on function public.billing_sync_catalog(jsonb) from public, anon, authenticated;
grant execute on function public.billing_sync_catalog(jsonb) to service_role;

-- Usage limits: the writes, then the answer -------------------------------

-- billing_write_usage_limits writes p_user_id's usage limits (one row per
-- counter of p_limits, valid until p_valid_until) and, when the user has
-- a plan in their snapshot, the plan those limits are for; each row only
-- when a value differs. Returns how many rows it wrote. Checks and errors
-- as billing_set_usage_limits (20261203000100_apply_writes_only_changes.sql),
-- which is these writes and its answer. Not callable by clients.
create or replace function public.billing_write_usage_limits(
  p_user_id uuid,
  p_limits jsonb,
  p_time_zone text,
  p_valid_until timestamptz
)
returns integer
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_tz text := coalesce(nullif(p_time_zone, ''), 'Asia/Tokyo');
  v_bad record;
  v_local timestamp;
  v_rows integer;
  v_written integer;
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;
  if p_limits is null or jsonb_typeof(p_limits) <> 'object' then
    raise exception 'p_limits must be a JSON object of counter -> limit' using errcode = '22023';
  end if;
  v_local := now() at time zone v_tz; -- 22023 for an unknown time zone

  -- The first counter (in jsonb order) that is not a valid limit.
  select e.key, e.value into v_bad
  from jsonb_each(p_limits) e
  where case
          when e.key = '' then true
          when jsonb_typeof(e.value) = 'null' then false
          when jsonb_typeof(e.value) = 'number' then
            (e.value #>> '{}')::numeric <> trunc((e.value #>> '{}')::numeric)
            or (e.value #>> '{}')::numeric not between 0 and 2147483647
          else true
        end
  limit 1;
  if found then
    if v_bad.key = '' then
      raise exception 'counter names must not be empty' using errcode = '22023';
    end if;
    raise exception 'limit of % must be a non-negative integer or null, got %', v_bad.key, v_bad.value
      using errcode = '22023';
  end if;

  insert into public.usage_limits as u
    (user_id, counter, limit_value, used, period_start, time_zone, valid_until, updated_at)
  select p_user_id, e.key, (e.value #>> '{}')::numeric::integer, 0,
         public.billing_usage_period_start(now(), v_tz), v_tz, p_valid_until, now()
  from jsonb_each(p_limits) e
  on conflict (user_id, counter) do update
    set limit_value = excluded.limit_value,
        time_zone = excluded.time_zone,
        valid_until = excluded.valid_until,
        updated_at = now()
    where (u.limit_value, u.time_zone, u.valid_until)
          is distinct from (excluded.limit_value, excluded.time_zone, excluded.valid_until);
  get diagnostics v_written = row_count;

  insert into public.billing_usage_plans as up (user_id, plan, valid_until, updated_at)
  select p.id, p.active_plan, p_valid_until, now()
  from public.profiles p
  where p.id = p_user_id and p.active_plan is not null and p.active_plan <> ''
    and exists (select 1 from auth.users a where a.id = p.id)
  on conflict (user_id) do update
    set plan = excluded.plan, valid_until = excluded.valid_until, updated_at = now()
    where (up.plan, up.valid_until) is distinct from (excluded.plan, excluded.valid_until);
  get diagnostics v_rows = row_count;
  return v_written + v_rows;
end;
$$;

revoke all on function public.billing_write_usage_limits(uuid, jsonb, text, timestamptz)
  from public, anon, authenticated;

create or replace function public.billing_set_usage_limits(
  p_user_id uuid,
  p_limits jsonb,
  p_time_zone text default 'Asia/Tokyo',
  p_valid_until timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_key text;
  v_counters jsonb := '{}'::jsonb;
  v_written integer;
begin
  v_written := public.billing_write_usage_limits(p_user_id, p_limits, p_time_zone, p_valid_until);
  for v_key in
    select u.counter from public.usage_limits u where u.user_id = p_user_id order by u.counter
  loop
    v_counters := v_counters || jsonb_build_object(v_key, public.billing_get_usage(p_user_id, v_key, now()));
  end loop;
  return jsonb_build_object('user_id', p_user_id, 'counters', v_counters);
end;
$$;

revoke all on function public.billing_set_usage_limits(uuid, jsonb, text, timestamptz)
  from public, anon, authenticated;
grant execute on function public.billing_set_usage_limits(uuid, jsonb, text, timestamptz) to service_role;

-- Snapshot and granting subscriptions in one pass -------------------------

-- billing_refresh_user_state recomputes p_user_id's snapshot in profiles
-- and their usage limits from all their subscriptions (as
-- billing_refresh_user did in 20261203000100_apply_writes_only_changes.sql)
-- and returns the subscriptions that grant access, best first (as
-- billing_granting_subscriptions orders them): the first is the
-- snapshot's. A user without a profile: nothing is written, and what
-- grants is returned all the same.
create or replace function public.billing_refresh_user_state(p_user_id uuid, p_catalog jsonb)
returns text[]
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_customer text;
  v_keeps boolean := coalesce((p_catalog ->> 'past_due_keeps_access')::boolean, false);
  v_mode text := nullif(p_catalog ->> 'mode', '');
  v_shown record;
  v_limits jsonb;
  v_until timestamptz;
  v_plan text;
  v_granting text[];
  v_written integer;
begin
  -- Serializes snapshot writers of one user; later statements see what
  -- the transactions before us committed.
  select p.stripe_customer_id into v_customer
  from public.profiles p where p.id = p_user_id
  for update;
  if not found then
    -- No snapshot to write; what grants is still reported.
    return public.billing_granting_subscriptions(p_user_id, p_catalog);
  end if;

  select coalesce(array_agg(t.id order by (t.scheduled_end is null) desc, t.scheduled_end desc,
                            t.current_period_end desc nulls last, t.stripe_created desc nulls last,
                            t.id collate "C" desc), '{}')
  into v_granting
  from (
    select s.id, s.current_period_end, s.stripe_created,
           case when s.cancel_at_period_end and s.current_period_end is not null
                then least(s.current_period_end, s.cancel_at)
                else s.cancel_at end as scheduled_end
    from (
      select * from public.subscriptions s1 where s1.user_id = p_user_id
      union all
      select * from public.subscriptions s2
      where s2.user_id is null and v_customer is not null and s2.customer_id = v_customer
    ) s
    where (v_mode is null or s.livemode = (v_mode = 'live'))
      and (s.status in ('active', 'trialing') or (s.status = 'past_due' and v_keeps))
      and coalesce((p_catalog #>> array['plans', s.plan, 'paid'])::boolean, false)
  ) t
  where t.scheduled_end is null or now() < t.scheduled_end;

  if cardinality(v_granting) > 0 then
    select s.id, s.status, s.plan, s.cancel_at_period_end, s.current_period_end,
           case when s.cancel_at_period_end and s.current_period_end is not null
                then least(s.current_period_end, s.cancel_at)
                else s.cancel_at end as scheduled_end
    into v_shown
    from public.subscriptions s where s.id = v_granting[1];
    v_plan := v_shown.plan;
    v_until := v_shown.scheduled_end;
  else
    select s.id, s.status, s.cancel_at_period_end, s.current_period_end into v_shown
    from public.subscriptions s
    where (s.user_id = p_user_id
           or (s.user_id is null and v_customer is not null and s.customer_id = v_customer))
      and (v_mode is null or s.livemode = (v_mode = 'live'))
    order by s.stripe_created desc nulls last, s.current_period_end desc nulls last, s.id collate "C" desc
    limit 1;
    v_plan := p_catalog ->> 'free_plan';
    v_until := '-infinity';
  end if;

  -- Written only when the snapshot changes (billing_updated_at is when it
  -- last changed).
  update public.profiles p
  set active_plan = v_plan,
      active_status = v_shown.status,
      active_subscription_id = v_shown.id,
      subscription_current_period_end = v_shown.current_period_end,
      cancel_at_period_end = coalesce(v_shown.cancel_at_period_end, false),
      billing_updated_at = now()
  where p.id = p_user_id
    and (p.active_plan, p.active_status, p.active_subscription_id, p.subscription_current_period_end,
         p.cancel_at_period_end, p.billing_updated_at is null)
        is distinct from
        (v_plan, v_shown.status, v_shown.id, v_shown.current_period_end,
         coalesce(v_shown.cancel_at_period_end, false), false);

  v_limits := coalesce(p_catalog #> array['plans', v_plan, 'limits'], '{}'::jsonb);
  v_written := public.billing_write_usage_limits(p_user_id, v_limits,
    coalesce(nullif(p_catalog ->> 'time_zone', ''), 'Asia/Tokyo'), v_until);
  return v_granting;
end;
$$;

revoke all on function public.billing_refresh_user_state(uuid, jsonb) from public, anon, authenticated;

create or replace function public.billing_refresh_user(p_user_id uuid, p_catalog jsonb)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_granting text[] := public.billing_refresh_user_state(p_user_id, p_catalog);
begin
  return (select p.active_plan from public.profiles p where p.id = p_user_id);
end;
$$;

revoke all on function public.billing_refresh_user(uuid, jsonb) from public, anon, authenticated;

-- billing_apply_event: as in 20261201010000_billing_review_apply.sql, with
-- each affected user's snapshot and granting subscriptions from one call
-- of billing_refresh_user_state, and the subscription's raw object read
-- from the event's payload when the document says it is its data.object
-- ("raw_is_event_object": true, no "raw"), so that it is not sent and
-- parsed twice.
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
  -- The object, or (raw_is_event_object) the event payload's data.object.
  v_raw jsonb := coalesce(v_sub -> 'raw',
    case when coalesce((v_sub ->> 'raw_is_event_object')::boolean, false)
         then v_ev #> '{payload,data,object}' end);
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
  v_catalog_sync jsonb;
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
    v_catalog_sync := public.billing_sync_catalog(v_catalog);
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
              (v_sub ->> 'stripe_created')::timestamptz, v_state_at, v_raw, now())
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
    -- More than one subscription that grants (two tabs, the Dashboard):
    -- reported, the best one wins the snapshot.
    v_granting := public.billing_refresh_user_state(v_u, v_catalog);
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
