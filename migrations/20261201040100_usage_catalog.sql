-- Usage limits that mean what the apps mean (issue 13): the catalog copy
-- with counter kinds, and the one rule every usage function applies.
--
-- Every usage function takes a counter's limit and kind from
-- billing_usage_rule: the catalog copy (billing_plan_limits, with the
-- counter kinds) looked up by the plan the user's limits were last written
-- for (billing_usage_plans) while that plan's access lasts, else the free
-- plan's. A cap never resets; a monthly counter starts again at 00:00 on
-- the 1st in the catalog's time zone.
--
-- Redefines billing_sync_catalog (from 20261121000400_billing_usage.sql;
-- it also stores the counter kinds) and replaces billing_catalog_matches(
-- jsonb, text, text) with a four-argument one. Conventions as in
-- 20261121000300_billing_functions.sql. Idempotent.

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
