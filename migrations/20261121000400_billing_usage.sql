-- Usage limits: per user and counter, a limit from the plan and a count that
-- resets monthly in the row's time zone (default Asia/Tokyo).
--
-- The server writes a user's limits when their plan changes
-- (billing_set_usage_limits, from billing_refresh_user), each row with the
-- end of the paid access it was written for (valid_until), and keeps the
-- catalog's limits of every plan in billing_plan_limits
-- (billing_sync_catalog). A user without a row, or whose row's paid access
-- has ended, gets the free plan's limit from there. The app checks and
-- counts atomically with consume_usage (signed-in user) or the server with
-- billing_consume_usage. Conventions as in the functions migration before
-- this one. Idempotent: CREATE OR REPLACE and grants.

-- Catalog limits ---------------------------------------------------------------

-- billing_catalog_matches tells whether billing_plan_limits holds exactly
-- p_plans ({"<plan>": {"limits": {...}}}) with p_free as the free plan and
-- p_time_zone (jsonb equality: key order and 10 vs 10.0 do not matter).
create or replace function public.billing_catalog_matches(p_plans jsonb, p_free text, p_time_zone text)
returns boolean
language sql stable
set search_path = public, pg_temp
as $$
  select (select count(*) from public.billing_plan_limits) = (select count(*) from jsonb_object_keys(p_plans))
     and not exists (
       select e.key, e.key = p_free, coalesce(e.value -> 'limits', '{}'::jsonb), p_time_zone
       from jsonb_each(p_plans) e
       except
       select f.plan, f.is_free, f.limits, f.time_zone
       from public.billing_plan_limits f)
$$;

revoke all on function public.billing_catalog_matches(jsonb, text, text) from public, anon, authenticated;

-- billing_free_limit is the free plan's limit of a counter from the synced
-- catalog: one row (limit_value, null = unlimited, 0 when the free plan does
-- not name the counter; time_zone), or none when no catalog was synced.
create or replace function public.billing_free_limit(p_counter text)
returns table (limit_value integer, time_zone text)
language sql stable
set search_path = public, pg_temp
as $$
  select case when f.limits ? p_counter then (f.limits ->> p_counter)::integer else 0 end, f.time_zone
  from public.billing_plan_limits f
  where f.is_free
$$;

revoke all on function public.billing_free_limit(text) from public, anon, authenticated;

-- billing_sync_catalog stores the plan catalog's limits in
-- billing_plan_limits. p_catalog is the "catalog" member of
-- billing_apply_event's document (Go: stripesync.CatalogDocument):
--
--   {"free_plan": "free", "time_zone": "Asia/Tokyo",
--    "plans": {"<plan>": {"limits": {"<counter>": n | null}, ...}, ...}}
--
-- (other members are ignored). The table then holds exactly these plans:
-- one row per plan, is_free for free_plan. When it already does (the usual
-- case: billing_apply_event calls this with every event) the call only
-- reads; a change is written under a lock, so concurrent callers with the
-- same new catalog write it once. Returns {"changed": bool, "plans": n}.
create or replace function public.billing_sync_catalog(p_catalog jsonb)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_free text := p_catalog ->> 'free_plan';
  v_tz text := coalesce(nullif(p_catalog ->> 'time_zone', ''), 'Asia/Tokyo');
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

  -- The common case: nothing changed since the last call; only a read.
  if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz) then
    return jsonb_build_object('changed', false, 'plans',
      (select count(*) from public.billing_plan_limits));
  end if;

  perform now() at time zone v_tz; -- 22023 for an unknown time zone
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
  if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz) then
    return jsonb_build_object('changed', false, 'plans',
      (select count(*) from public.billing_plan_limits));
  end if;
  delete from public.billing_plan_limits;
  insert into public.billing_plan_limits (plan, is_free, limits, time_zone, updated_at)
  select e.key, e.key = v_free, e.value, v_tz, now()
  from jsonb_each(v_plans) e;
  return jsonb_build_object('changed', true, 'plans', (select count(*) from jsonb_object_keys(v_plans)));
end;
$$;

revoke all on function public.billing_sync_catalog(jsonb) from public, anon, authenticated;
grant execute on function public.billing_sync_catalog(jsonb) to service_role;

-- billing_get_usage / get_usage ------------------------------------------------

-- billing_get_usage reports a counter of a user as of p_now without changing
-- it: "used" is 0 when a new period has begun since the last write, and
-- "allowed" tells whether one more unit would be allowed. The limit is the
-- user's row's while its paid access lasts (valid_until null or after
-- p_now), else the free plan's (billing_free_limit; the row's count and
-- period still apply). A user without a row gets the free plan's limit with
-- nothing used yet. With no catalog synced either, the answer is
-- {"allowed": false, "reason": "no_limit_row", "limit": 0, ...}.
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
  v_has_row boolean;
  v_limit integer;
  v_tz text;
  v_period date;
  v_used integer := 0;
  v_allowed boolean;
begin
  if p_user_id is null or p_counter is null or p_counter = '' or p_now is null then
    raise exception 'p_user_id, p_counter and p_now are required' using errcode = '22023';
  end if;

  select * into r from public.usage_limits u
  where u.user_id = p_user_id and u.counter = p_counter;
  v_has_row := found;
  if v_has_row then
    v_tz := r.time_zone;
    v_period := public.billing_usage_period_start(p_now, v_tz);
    if r.period_start >= v_period then
      v_used := r.used;
      v_period := r.period_start;
    end if;
  end if;

  if v_has_row and (r.valid_until is null or p_now < r.valid_until) then
    v_limit := r.limit_value;
  else
    select f.limit_value, coalesce(v_tz, f.time_zone) into v_limit, v_tz
    from public.billing_free_limit(p_counter) f;
    if not found then
      return public.billing_usage_json(p_counter, v_used, 0, v_period, v_tz, false, 'no_limit_row');
    end if;
    if not v_has_row then
      v_period := public.billing_usage_period_start(p_now, v_tz);
    end if;
  end if;

  v_allowed := v_limit is null or v_used::bigint + 1 <= v_limit;
  return public.billing_usage_json(p_counter, v_used, v_limit, v_period, v_tz,
    v_allowed, case when v_allowed then null else 'limit_reached' end);
end;
$$;

revoke all on function public.billing_get_usage(uuid, text, timestamptz) from public, anon, authenticated;
grant execute on function public.billing_get_usage(uuid, text, timestamptz) to service_role;

-- get_usage is billing_get_usage for the signed-in caller (auth.uid()).
create or replace function public.get_usage(p_counter text)
returns jsonb
language plpgsql stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_user uuid := auth.uid();
begin
  if v_user is null then
    raise exception 'get_usage needs a signed-in user' using errcode = '42501';
  end if;
  return public.billing_get_usage(v_user, p_counter, now());
end;
$$;

revoke all on function public.get_usage(text) from public, anon, authenticated;
grant execute on function public.get_usage(text) to authenticated, service_role;

-- billing_consume_usage / consume_usage ----------------------------------------

-- billing_consume_usage checks and counts p_amount units of a counter in one
-- step: under a row lock it first starts a new period when the month of p_now
-- in the row's time zone is later than period_start (used = 0), then adds
-- p_amount only if the result stays within the limit (null = unlimited).
-- The limit is the one billing_get_usage reports: the row's while its paid
-- access lasts, else the free plan's. A user without a row gets one (with
-- the free plan's limit, valid_until -infinity) when the units fit the free
-- plan's limit; units that do not fit create nothing, so made-up counter
-- names leave no rows. The result is the usage JSON (see
-- billing_usage_json) after the call, with "allowed" telling whether the
-- units were counted and "reason" "limit_reached" or "no_limit_row" (no row
-- and no catalog synced) when not. p_now exists for tests and server-side
-- back-dating; callers normally leave it out.
create or replace function public.billing_consume_usage(
  p_user_id uuid,
  p_counter text,
  p_amount integer default 1,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  r public.usage_limits;
  v_limit integer;
  v_tz text;
  v_period date;
  v_allowed boolean;
begin
  if p_user_id is null or p_counter is null or p_counter = '' or p_now is null then
    raise exception 'p_user_id, p_counter and p_now are required' using errcode = '22023';
  end if;
  if p_amount is null or p_amount < 1 then
    raise exception 'p_amount must be a positive integer, got %', p_amount using errcode = '22023';
  end if;

  select * into r from public.usage_limits u
  where u.user_id = p_user_id and u.counter = p_counter
  for update;
  if not found then
    select f.limit_value, f.time_zone into v_limit, v_tz from public.billing_free_limit(p_counter) f;
    if not found then
      return public.billing_usage_json(p_counter, 0, 0, null, null, false, 'no_limit_row');
    end if;
    v_period := public.billing_usage_period_start(p_now, v_tz);
    if v_limit is not null and p_amount > v_limit then
      return public.billing_usage_json(p_counter, 0, v_limit, v_period, v_tz, false, 'limit_reached');
    end if;
    -- A concurrent first call inserts too: one row wins, both lock it below.
    insert into public.usage_limits as u
      (user_id, counter, limit_value, used, period_start, time_zone, valid_until, updated_at)
    select p_user_id, p_counter, v_limit, 0, v_period, v_tz, '-infinity', now()
    where exists (select 1 from auth.users a where a.id = p_user_id)
    on conflict (user_id, counter) do nothing;
    select * into r from public.usage_limits u
    where u.user_id = p_user_id and u.counter = p_counter
    for update;
    if not found then -- no such user
      return public.billing_usage_json(p_counter, 0, 0, null, null, false, 'no_limit_row');
    end if;
  end if;

  v_period := public.billing_usage_period_start(p_now, r.time_zone);
  if r.period_start < v_period then
    r.used := 0;
    r.period_start := v_period;
  end if;

  if r.valid_until is null or p_now < r.valid_until then
    v_limit := r.limit_value;
  else
    select f.limit_value into v_limit from public.billing_free_limit(p_counter) f;
    if not found then
      return public.billing_usage_json(p_counter, r.used, 0, r.period_start, r.time_zone, false, 'no_limit_row');
    end if;
  end if;

  v_allowed := v_limit is null or r.used::bigint + p_amount <= v_limit;
  if v_allowed then
    if r.used::bigint + p_amount > 2147483647 then
      raise exception 'counter % overflows', p_counter using errcode = '22003';
    end if;
    r.used := r.used + p_amount;
  end if;

  update public.usage_limits u
  set used = r.used, period_start = r.period_start, updated_at = now()
  where u.user_id = p_user_id and u.counter = p_counter;

  return public.billing_usage_json(p_counter, r.used, v_limit, r.period_start, r.time_zone,
    v_allowed, case when v_allowed then null else 'limit_reached' end);
end;
$$;

revoke all on function public.billing_consume_usage(uuid, text, integer, timestamptz)
  from public, anon, authenticated;
grant execute on function public.billing_consume_usage(uuid, text, integer, timestamptz) to service_role;

-- consume_usage is billing_consume_usage for the signed-in caller
-- (auth.uid()) at the current time.
create or replace function public.consume_usage(p_counter text, p_amount integer default 1)
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
  return public.billing_consume_usage(v_user, p_counter, p_amount, now());
end;
$$;

revoke all on function public.consume_usage(text, integer) from public, anon, authenticated;
grant execute on function public.consume_usage(text, integer) to authenticated, service_role;

-- billing_set_usage_limits -----------------------------------------------------

-- billing_set_usage_limits writes a user's limits from their plan, e.g.
-- p_limits = {"properties": 10, "exports": null} (null = unlimited): one row
-- per counter is created or gets the new limit and time zone. "used" and the
-- period are kept (a downgrade lowers the limit and never deletes data), and
-- counters missing from p_limits are left alone. p_time_zone defaults to
-- Asia/Tokyo. p_valid_until is the end of the paid access the limits are
-- for (null: until written again; -infinity: the free plan's, always taken
-- from billing_plan_limits), set on every row written. Returns {"user_id", "counters": {"<counter>": usage JSON as of
-- now, for every counter of the user}}.
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
