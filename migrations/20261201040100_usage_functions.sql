-- Usage limits that mean what the apps mean (issue 13): functions.
--
-- Every usage function takes a counter's limit and kind from one rule,
-- billing_usage_rule: the catalog copy (billing_plan_limits, with the
-- counter kinds) looked up by the plan the user's limits were last written
-- for (billing_usage_plans) while that plan's access lasts, else the free
-- plan's. A cap never resets; a monthly counter starts again at 00:00 on
-- the 1st in the catalog's time zone. consume and release take an optional
-- idempotency key. check-subscription reads every counter of a user with
-- its state in one call (billing_check_state).
--
-- Redefines, from 20261121000400_billing_usage.sql: billing_sync_catalog
-- (also stores the counter kinds), billing_get_usage, billing_consume_usage
-- and consume_usage (dropped and recreated with p_key), and
-- billing_set_usage_limits (also records the plan). Replaces
-- billing_catalog_matches(jsonb, text, text) with a four-argument one.
-- Conventions as in 20261121000300_billing_functions.sql. Idempotent.

-- Catalog ----------------------------------------------------------------------

drop function if exists public.billing_catalog_matches(jsonb, text, text);

-- billing_catalog_matches tells whether billing_plan_limits holds exactly
-- p_plans ({"<plan>": {"limits": {...}}}) with p_free as the free plan,
-- p_time_zone and the counter kinds p_kinds (jsonb equality: key order and
-- 10 vs 10.0 do not matter).
create or replace function public.billing_catalog_matches(
  p_plans jsonb, p_free text, p_time_zone text, p_kinds jsonb)
returns boolean
language sql stable
set search_path = public, pg_temp
as $$
  select (select count(*) from public.billing_plan_limits) = (select count(*) from jsonb_object_keys(p_plans))
     and not exists (
       select e.key, e.key = p_free, coalesce(e.value -> 'limits', '{}'::jsonb), p_time_zone, p_kinds
       from jsonb_each(p_plans) e
       except
       select f.plan, f.is_free, f.limits, f.time_zone, f.kinds
       from public.billing_plan_limits f)
$$;

revoke all on function public.billing_catalog_matches(jsonb, text, text, jsonb) from public, anon, authenticated;

-- billing_sync_catalog stores the plan catalog's limits and counter kinds
-- in billing_plan_limits. p_catalog is the "catalog" member of
-- billing_apply_event's document (Go: store.CatalogDocument):
--
--   {"free_plan": "free", "time_zone": "Asia/Tokyo",
--    "counters": {"<counter>": "cap" | "monthly"},
--    "plans": {"<plan>": {"limits": {"<counter>": n | null}, ...}, ...}}
--
-- (other members are ignored; a counter "counters" does not name is
-- monthly). The table then holds exactly these plans: one row per plan,
-- is_free for free_plan. When it already does (the usual case: every
-- function start and every billing_apply_event call this) the call only
-- reads; a change is written under a lock, so concurrent callers with the
-- same new catalog write it once. The usage functions look limits up here
-- at every call, so a change applies to every user at once. Returns
-- {"changed": bool, "plans": n}.
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

  -- The common case: nothing changed since the last call; only a read.
  if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz, v_kinds) then
    return jsonb_build_object('changed', false, 'plans',
      (select count(*) from public.billing_plan_limits));
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
    return jsonb_build_object('changed', false, 'plans',
      (select count(*) from public.billing_plan_limits));
  end if;
  delete from public.billing_plan_limits;
  insert into public.billing_plan_limits (plan, is_free, limits, time_zone, kinds, updated_at)
  select e.key, e.key = v_free, e.value, v_tz, v_kinds, now()
  from jsonb_each(v_plans) e;
  return jsonb_build_object('changed', true, 'plans', (select count(*) from jsonb_object_keys(v_plans)));
end;
$$;

revoke all on function public.billing_sync_catalog(jsonb) from public, anon, authenticated;
grant execute on function public.billing_sync_catalog(jsonb) to service_role;

-- billing_usage_rule -----------------------------------------------------------

-- billing_usage_rule is the limit every usage function applies to a
-- counter of a user at p_now: one row (limit_value, null = unlimited;
-- kind "cap" or "monthly"; time_zone of the monthly reset; valid_until, the
-- end of the access the limit is for), or none when no catalog was synced
-- and the user has nothing of their own.
--
--   - The user has a recorded plan (billing_usage_plans): while its access
--     lasts (valid_until null or after p_now) that plan's limit in the
--     synced catalog; after it, or when the synced catalog no longer has
--     the plan, the free plan's. A plan that does not name the counter
--     allows 0.
--   - No recorded plan: p_row's own limit (a row written by hand or before
--     plans were recorded) while it lasts, else the free plan's.
--
-- Kind and time zone always come from the synced catalog (the row's zone
-- when none is synced). Not callable by clients.
create or replace function public.billing_usage_rule(
  p_user_id uuid,
  p_counter text,
  p_now timestamptz,
  p_row public.usage_limits
)
returns table (limit_value integer, kind text, time_zone text, valid_until timestamptz)
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  v_free public.billing_plan_limits;
  v_plan public.billing_plan_limits;
  v_name text;
  v_until timestamptz;
begin
  select * into v_free from public.billing_plan_limits b where b.is_free;

  select up.plan, up.valid_until into v_name, v_until
  from public.billing_usage_plans up where up.user_id = p_user_id;
  if found then
    if v_until is null or p_now < v_until then
      select * into v_plan from public.billing_plan_limits b where b.plan = v_name;
    end if;
    if v_plan.plan is null then
      v_plan := v_free;
      v_until := '-infinity';
    end if;
    if v_plan.plan is null then
      return;
    end if;
    return query select
      case when v_plan.limits ? p_counter then (v_plan.limits ->> p_counter)::integer else 0 end,
      coalesce(v_plan.kinds ->> p_counter, 'monthly'), v_plan.time_zone, v_until;
    return;
  end if;

  if p_row.user_id is not null and (p_row.valid_until is null or p_now < p_row.valid_until) then
    return query select p_row.limit_value, coalesce(v_free.kinds ->> p_counter, 'monthly'),
      coalesce(v_free.time_zone, p_row.time_zone), p_row.valid_until;
    return;
  end if;
  if v_free.plan is null then
    return;
  end if;
  return query select
    case when v_free.limits ? p_counter then (v_free.limits ->> p_counter)::integer else 0 end,
    coalesce(v_free.kinds ->> p_counter, 'monthly'), v_free.time_zone, '-infinity'::timestamptz;
end;
$$;

revoke all on function public.billing_usage_rule(uuid, text, timestamptz, public.usage_limits)
  from public, anon, authenticated;

-- billing_usage_answer is the usage JSON (billing_usage_json) of a counter
-- of p_kind, with "kind" and, for a cap, no period: {allowed, reason,
-- counter, kind, used, limit, remaining, period_start, resets_at, time_zone}.
create or replace function public.billing_usage_answer(
  p_counter text, p_kind text, p_used integer, p_limit integer, p_period_start date,
  p_time_zone text, p_allowed boolean, p_reason text)
returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select public.billing_usage_json(p_counter, p_used, p_limit,
           case when p_kind = 'cap' then null else p_period_start end,
           p_time_zone, p_allowed, p_reason)
         || jsonb_build_object('kind', p_kind)
$$;

revoke all on function public.billing_usage_answer(text, text, integer, integer, date, text, boolean, text)
  from public, anon, authenticated;

-- billing_get_usage / get_usage ------------------------------------------------

-- billing_get_usage reports a counter of a user as of p_now without changing
-- it, with the limit of billing_usage_rule: "used" is the count held (a
-- cap), or the count of the current month (0 when a new month has begun
-- since the last write); "allowed" tells whether one more unit would be
-- allowed. With no rule (no catalog synced, nothing of the user's own) the
-- answer is {"allowed": false, "reason": "no_limit_row", "limit": 0, ...}.
create or replace function public.billing_get_usage(
  p_user_id uuid,
  p_counter text,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql stable
security definer
set search_path = public, pg_temp
as $$
declare
  r public.usage_limits;
  v_rule record;
  v_period date;
  v_used integer := 0;
  v_allowed boolean;
begin
  if p_user_id is null or p_counter is null or p_counter = '' or p_now is null then
    raise exception 'p_user_id, p_counter and p_now are required' using errcode = '22023';
  end if;

  select * into r from public.usage_limits u
  where u.user_id = p_user_id and u.counter = p_counter;
  select * into v_rule from public.billing_usage_rule(p_user_id, p_counter, p_now, r);
  if v_rule is null or v_rule.kind is null then
    if r.user_id is null then
      return public.billing_usage_json(p_counter, 0, 0, null, null, false, 'no_limit_row');
    end if;
    v_period := public.billing_usage_period_start(p_now, r.time_zone);
    return public.billing_usage_answer(p_counter, 'monthly',
      case when r.period_start >= v_period then r.used else 0 end, 0,
      greatest(r.period_start, v_period), r.time_zone, false, 'no_limit_row');
  end if;

  v_period := public.billing_usage_period_start(p_now, v_rule.time_zone);
  if r.user_id is not null then
    if v_rule.kind = 'cap' or r.period_start >= v_period then
      v_used := r.used;
    end if;
    if r.period_start > v_period then
      v_period := r.period_start;
    end if;
  end if;

  v_allowed := v_rule.limit_value is null or v_used::bigint + 1 <= v_rule.limit_value;
  return public.billing_usage_answer(p_counter, v_rule.kind, v_used, v_rule.limit_value, v_period,
    v_rule.time_zone, v_allowed, case when v_allowed then null else 'limit_reached' end);
end;
$$;

revoke all on function public.billing_get_usage(uuid, text, timestamptz) from public, anon, authenticated;
grant execute on function public.billing_get_usage(uuid, text, timestamptz) to service_role;

-- billing_consume_usage / consume_usage ----------------------------------------

drop function if exists public.consume_usage(text, integer);
drop function if exists public.billing_consume_usage(uuid, text, integer, timestamptz);

-- billing_consume_usage checks and counts p_amount units of a counter in one
-- step, under a row lock: a monthly counter first starts a new month when
-- p_now is in a later month of the catalog's time zone (used = 0; a cap
-- never does), then p_amount is added only if the result stays within the
-- limit of billing_usage_rule (null = unlimited). A count already above the
-- limit (after a downgrade) is kept and refuses more until releases bring
-- it under. A user without a row gets one when the units fit, so refused
-- made-up counter names leave no rows.
--
-- p_key (optional, 1 to 200 characters, e.g. the ID of the thing created)
-- makes the call idempotent: once a consume with the key was counted,
-- another with the same key and counter counts nothing and answers
-- "allowed": true, "duplicate": true. A refused consume records no key.
--
-- The result is the usage JSON (billing_usage_answer) after the call, plus
-- "duplicate"; "allowed" tells whether the units are counted, "reason" is
-- "limit_reached" or "no_limit_row" (no catalog synced) when not. p_now
-- exists for tests and server-side back-dating.
create or replace function public.billing_consume_usage(
  p_user_id uuid,
  p_counter text,
  p_amount integer default 1,
  p_now timestamptz default now(),
  p_key text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  r public.usage_limits;
  v_rule record;
  v_period date;
  v_allowed boolean;
  v_duplicate boolean := false;
begin
  if p_user_id is null or p_counter is null or p_counter = '' or p_now is null then
    raise exception 'p_user_id, p_counter and p_now are required' using errcode = '22023';
  end if;
  if p_amount is null or p_amount < 1 then
    raise exception 'p_amount must be a positive integer, got %', p_amount using errcode = '22023';
  end if;
  if p_key is not null and (length(p_key) < 1 or length(p_key) > 200) then
    raise exception 'p_key must be 1 to 200 characters' using errcode = '22023';
  end if;

  select * into r from public.usage_limits u
  where u.user_id = p_user_id and u.counter = p_counter
  for update;
  if not found then
    select * into v_rule from public.billing_usage_rule(p_user_id, p_counter, p_now, null);
    if v_rule is null or v_rule.kind is null then
      return public.billing_usage_json(p_counter, 0, 0, null, null, false, 'no_limit_row')
        || jsonb_build_object('duplicate', false);
    end if;
    v_period := public.billing_usage_period_start(p_now, v_rule.time_zone);
    if v_rule.limit_value is not null and p_amount > v_rule.limit_value then
      return public.billing_usage_answer(p_counter, v_rule.kind, 0, v_rule.limit_value, v_period,
        v_rule.time_zone, false, 'limit_reached') || jsonb_build_object('duplicate', false);
    end if;
    -- A concurrent first call inserts too: one row wins, both lock it below.
    insert into public.usage_limits as u
      (user_id, counter, limit_value, used, period_start, time_zone, valid_until, updated_at)
    select p_user_id, p_counter, v_rule.limit_value, 0, v_period, v_rule.time_zone, v_rule.valid_until, now()
    where exists (select 1 from auth.users a where a.id = p_user_id)
    on conflict (user_id, counter) do nothing;
    select * into r from public.usage_limits u
    where u.user_id = p_user_id and u.counter = p_counter
    for update;
    if not found then -- no such user
      return public.billing_usage_json(p_counter, 0, 0, null, null, false, 'no_limit_row')
        || jsonb_build_object('duplicate', false);
    end if;
  end if;

  select * into v_rule from public.billing_usage_rule(p_user_id, p_counter, p_now, r);
  if v_rule is null or v_rule.kind is null then
    v_period := public.billing_usage_period_start(p_now, r.time_zone);
    if r.period_start < v_period then
      r.used := 0;
      r.period_start := v_period;
    end if;
    update public.usage_limits u
    set used = r.used, period_start = r.period_start, updated_at = now()
    where u.user_id = p_user_id and u.counter = p_counter;
    return public.billing_usage_answer(p_counter, 'monthly', r.used, 0, r.period_start, r.time_zone,
      false, 'no_limit_row') || jsonb_build_object('duplicate', false);
  end if;

  if v_rule.kind = 'monthly' then
    v_period := public.billing_usage_period_start(p_now, v_rule.time_zone);
    if r.period_start < v_period then
      r.used := 0;
      r.period_start := v_period;
    end if;
  end if;

  if p_key is not null and exists (
      select 1 from public.usage_keys k
      where k.user_id = p_user_id and k.counter = p_counter and k.direction = 'consume' and k.key = p_key) then
    v_duplicate := true;
    v_allowed := true;
  else
    v_allowed := v_rule.limit_value is null or r.used::bigint + p_amount <= v_rule.limit_value;
    if v_allowed then
      if r.used::bigint + p_amount > 2147483647 then
        raise exception 'counter % overflows', p_counter using errcode = '22003';
      end if;
      r.used := r.used + p_amount;
      if p_key is not null then
        insert into public.usage_keys (user_id, counter, direction, key, amount)
        values (p_user_id, p_counter, 'consume', p_key, p_amount);
      end if;
    end if;
  end if;

  update public.usage_limits u
  set used = r.used, period_start = r.period_start, updated_at = now()
  where u.user_id = p_user_id and u.counter = p_counter;

  return public.billing_usage_answer(p_counter, v_rule.kind, r.used, v_rule.limit_value, r.period_start,
    v_rule.time_zone, v_allowed, case when v_allowed then null else 'limit_reached' end)
    || jsonb_build_object('duplicate', v_duplicate);
end;
$$;

revoke all on function public.billing_consume_usage(uuid, text, integer, timestamptz, text)
  from public, anon, authenticated;
grant execute on function public.billing_consume_usage(uuid, text, integer, timestamptz, text) to service_role;

-- consume_usage is billing_consume_usage for the signed-in caller
-- (auth.uid()) at the current time.
create or replace function public.consume_usage(
  p_counter text,
  p_amount integer default 1,
  p_key text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_user uuid := auth.uid();
begin
  if v_user is null then
    raise exception 'consume_usage needs a signed-in user' using errcode = '42501';
  end if;
  return public.billing_consume_usage(v_user, p_counter, p_amount, now(), p_key);
end;
$$;

revoke all on function public.consume_usage(text, integer, text) from public, anon, authenticated;
grant execute on function public.consume_usage(text, integer, text) to authenticated, service_role;

-- billing_release_usage / release_usage ----------------------------------------

-- billing_release_usage gives p_amount units of a counter back (a thing was
-- deleted), under the same row lock as consume: used goes down by
-- p_amount, never below zero (a monthly counter first starts a new month,
-- as consume does). p_key (optional, 1 to 200 characters) makes it
-- idempotent: a second release with the same key and counter gives nothing
-- back ("duplicate": true), so a double delete releases once. The result
-- is the usage JSON after the call ("allowed": whether one more unit would
-- now be allowed), plus "released" (the units actually given back) and
-- "duplicate". A counter the user never used has nothing to release.
create or replace function public.billing_release_usage(
  p_user_id uuid,
  p_counter text,
  p_amount integer default 1,
  p_now timestamptz default now(),
  p_key text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  r public.usage_limits;
  v_rule record;
  v_kind text;
  v_tz text;
  v_period date;
  v_released integer := 0;
  v_duplicate boolean := false;
  v_allowed boolean;
begin
  if p_user_id is null or p_counter is null or p_counter = '' or p_now is null then
    raise exception 'p_user_id, p_counter and p_now are required' using errcode = '22023';
  end if;
  if p_amount is null or p_amount < 1 then
    raise exception 'p_amount must be a positive integer, got %', p_amount using errcode = '22023';
  end if;
  if p_key is not null and (length(p_key) < 1 or length(p_key) > 200) then
    raise exception 'p_key must be 1 to 200 characters' using errcode = '22023';
  end if;

  select * into r from public.usage_limits u
  where u.user_id = p_user_id and u.counter = p_counter
  for update;
  if not found then
    return public.billing_get_usage(p_user_id, p_counter, p_now)
      || jsonb_build_object('released', 0, 'duplicate', false);
  end if;

  select * into v_rule from public.billing_usage_rule(p_user_id, p_counter, p_now, r);
  v_kind := coalesce(v_rule.kind, 'monthly');
  v_tz := coalesce(v_rule.time_zone, r.time_zone);
  if v_kind = 'monthly' then
    v_period := public.billing_usage_period_start(p_now, v_tz);
    if r.period_start < v_period then
      r.used := 0;
      r.period_start := v_period;
    end if;
  end if;

  if p_key is not null and exists (
      select 1 from public.usage_keys k
      where k.user_id = p_user_id and k.counter = p_counter and k.direction = 'release' and k.key = p_key) then
    v_duplicate := true;
  else
    v_released := least(p_amount, r.used);
    r.used := r.used - v_released;
    if p_key is not null then
      insert into public.usage_keys (user_id, counter, direction, key, amount)
      values (p_user_id, p_counter, 'release', p_key, v_released);
    end if;
  end if;

  update public.usage_limits u
  set used = r.used, period_start = r.period_start, updated_at = now()
  where u.user_id = p_user_id and u.counter = p_counter;

  if v_rule is null or v_rule.kind is null then
    return public.billing_usage_answer(p_counter, v_kind, r.used, 0, r.period_start, v_tz, false, 'no_limit_row')
      || jsonb_build_object('released', v_released, 'duplicate', v_duplicate);
  end if;
  v_allowed := v_rule.limit_value is null or r.used::bigint + 1 <= v_rule.limit_value;
  return public.billing_usage_answer(p_counter, v_kind, r.used, v_rule.limit_value, r.period_start, v_tz,
    v_allowed, case when v_allowed then null else 'limit_reached' end)
    || jsonb_build_object('released', v_released, 'duplicate', v_duplicate);
end;
$$;

revoke all on function public.billing_release_usage(uuid, text, integer, timestamptz, text)
  from public, anon, authenticated;
grant execute on function public.billing_release_usage(uuid, text, integer, timestamptz, text) to service_role;

-- release_usage is billing_release_usage for the signed-in caller
-- (auth.uid()) at the current time.
create or replace function public.release_usage(
  p_counter text,
  p_amount integer default 1,
  p_key text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_user uuid := auth.uid();
begin
  if v_user is null then
    raise exception 'release_usage needs a signed-in user' using errcode = '42501';
  end if;
  return public.billing_release_usage(v_user, p_counter, p_amount, now(), p_key);
end;
$$;

revoke all on function public.release_usage(text, integer, text) from public, anon, authenticated;
grant execute on function public.release_usage(text, integer, text) to authenticated, service_role;

-- billing_set_usage_limits -----------------------------------------------------

-- billing_set_usage_limits writes a user's limits from their plan, e.g.
-- p_limits = {"properties": 10, "exports": null} (null = unlimited): one row
-- per counter is created or gets the new limit and time zone. "used" and the
-- period are kept (a downgrade lowers the limit and never deletes data), and
-- counters missing from p_limits are left alone. p_time_zone defaults to
-- Asia/Tokyo. p_valid_until is the end of the paid access the limits are
-- for (null: until written again; -infinity: the free plan's), set on every
-- row written. It also records the plan the limits are of in
-- billing_usage_plans: the profile's active_plan, which billing_refresh_user
-- sets just before calling this (a profile without one records nothing),
-- valid until p_valid_until. The usage functions then take that plan's
-- limits from the synced catalog (billing_usage_rule). Returns {"user_id",
-- "counters": {"<counter>": usage JSON as of now, for every counter of the
-- user}}.
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
  v_tz text := coalesce(nullif(p_time_zone, ''), 'Asia/Tokyo');
  v_key text;
  v_value jsonb;
  v_limit integer;
  v_number numeric;
  v_counters jsonb := '{}'::jsonb;
begin
  if p_user_id is null then
    raise exception 'p_user_id is required' using errcode = '22023';
  end if;
  if p_limits is null or jsonb_typeof(p_limits) <> 'object' then
    raise exception 'p_limits must be a JSON object of counter -> limit' using errcode = '22023';
  end if;
  perform now() at time zone v_tz; -- 22023 for an unknown time zone

  for v_key, v_value in select e.key, e.value from jsonb_each(p_limits) e loop
    if v_key = '' then
      raise exception 'counter names must not be empty' using errcode = '22023';
    end if;
    if jsonb_typeof(v_value) = 'null' then
      v_limit := null;
    elsif jsonb_typeof(v_value) = 'number' then
      v_number := (v_value #>> '{}')::numeric;
      if v_number <> trunc(v_number) or v_number < 0 or v_number > 2147483647 then
        raise exception 'limit of % must be a non-negative integer or null, got %', v_key, v_value
          using errcode = '22023';
      end if;
      v_limit := v_number::integer;
    else
      raise exception 'limit of % must be a non-negative integer or null, got %', v_key, v_value
        using errcode = '22023';
    end if;

    insert into public.usage_limits as u
      (user_id, counter, limit_value, used, period_start, time_zone, valid_until, updated_at)
    values
      (p_user_id, v_key, v_limit, 0, public.billing_usage_period_start(now(), v_tz), v_tz, p_valid_until, now())
    on conflict (user_id, counter) do update
      set limit_value = excluded.limit_value,
          time_zone = excluded.time_zone,
          valid_until = excluded.valid_until,
          updated_at = now();
  end loop;

  insert into public.billing_usage_plans as up (user_id, plan, valid_until, updated_at)
  select p.id, p.active_plan, p_valid_until, now()
  from public.profiles p
  where p.id = p_user_id and p.active_plan is not null and p.active_plan <> ''
    and exists (select 1 from auth.users a where a.id = p.id)
  on conflict (user_id) do update
    set plan = excluded.plan, valid_until = excluded.valid_until, updated_at = now();

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

-- billing_check_state ----------------------------------------------------------

-- billing_check_state is billing_user_state plus the user's counters as
-- stored, for check-subscription's one read per request:
-- {..., "usage": {"<counter>": {"used": n, "period_start": "YYYY-MM-DD"}}}.
-- The function applies the catalog's kinds, limits and monthly reset
-- itself, exactly as billing_usage_rule does.
create or replace function public.billing_check_state(p_user_id uuid)
returns jsonb
language sql stable
security definer
set search_path = public, pg_temp
as $$
  select public.billing_user_state(p_user_id) || jsonb_build_object('usage', coalesce(
    (select jsonb_object_agg(u.counter, jsonb_build_object(
       'used', u.used, 'period_start', to_char(u.period_start, 'YYYY-MM-DD')))
     from public.usage_limits u where u.user_id = p_user_id), '{}'::jsonb))
$$;

revoke all on function public.billing_check_state(uuid) from public, anon, authenticated;
grant execute on function public.billing_check_state(uuid) to service_role;
