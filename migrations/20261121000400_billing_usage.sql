-- Usage limits: per user and counter, a limit from the plan and a count that
-- resets monthly in the row's time zone (default Asia/Tokyo).
--
-- The server writes the limits when a plan changes (billing_set_usage_limits);
-- the app checks and counts atomically with consume_usage (signed-in user) or
-- the server with billing_consume_usage. Conventions as in the functions
-- migration before this one. Idempotent: CREATE OR REPLACE and grants.

-- billing_get_usage / get_usage ------------------------------------------------

-- billing_get_usage reports a counter of a user as of p_now without changing
-- it: "used" is 0 when a new period has begun since the last write, and
-- "allowed" tells whether one more unit would be allowed. A user without a
-- row for the counter gets {"allowed": false, "reason": "no_limit_row",
-- "used": 0, "limit": 0}: the server writes the rows from the plan catalog
-- (billing_set_usage_limits), and a missing row means it has not.
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
  v_period date;
  v_used integer;
  v_allowed boolean;
begin
  if p_user_id is null or p_counter is null or p_counter = '' or p_now is null then
    raise exception 'p_user_id, p_counter and p_now are required' using errcode = '22023';
  end if;

  select * into r from public.usage_limits u
  where u.user_id = p_user_id and u.counter = p_counter;
  if not found then
    return public.billing_usage_json(p_counter, 0, 0, null, null, false, 'no_limit_row');
  end if;

  v_period := public.billing_usage_period_start(p_now, r.time_zone);
  v_used := r.used;
  if r.period_start < v_period then
    v_used := 0;
  else
    v_period := r.period_start;
  end if;

  v_allowed := r.limit_value is null or v_used::bigint + 1 <= r.limit_value;
  return public.billing_usage_json(p_counter, v_used, r.limit_value, v_period, r.time_zone,
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
-- The result is the usage JSON (see billing_usage_json) after the call, with
-- "allowed" telling whether the units were counted and "reason"
-- "limit_reached" or "no_limit_row" when not. p_now exists for tests and
-- server-side back-dating; callers normally leave it out.
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
    return public.billing_usage_json(p_counter, 0, 0, null, null, false, 'no_limit_row');
  end if;

  v_period := public.billing_usage_period_start(p_now, r.time_zone);
  if r.period_start < v_period then
    r.used := 0;
    r.period_start := v_period;
  end if;

  v_allowed := r.limit_value is null
    or r.used::bigint + p_amount <= r.limit_value;
  if v_allowed then
    if r.used::bigint + p_amount > 2147483647 then
      raise exception 'counter % overflows', p_counter using errcode = '22003';
    end if;
    r.used := r.used + p_amount;
  end if;

  update public.usage_limits u
  set used = r.used, period_start = r.period_start, updated_at = now()
  where u.user_id = p_user_id and u.counter = p_counter;

  return public.billing_usage_json(p_counter, r.used, r.limit_value, r.period_start, r.time_zone,
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
-- Asia/Tokyo. Returns {"user_id", "counters": {"<counter>": usage JSON as of
-- now, for every counter of the user}}.
create or replace function public.billing_set_usage_limits(
  p_user_id uuid,
  p_limits jsonb,
  p_time_zone text default 'Asia/Tokyo'
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
      (user_id, counter, limit_value, used, period_start, time_zone, updated_at)
    values
      (p_user_id, v_key, v_limit, 0, public.billing_usage_period_start(now(), v_tz), v_tz, now())
    on conflict (user_id, counter) do update
      set limit_value = excluded.limit_value,
          time_zone = excluded.time_zone,
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

revoke all on function public.billing_set_usage_limits(uuid, jsonb, text) from public, anon, authenticated;
grant execute on function public.billing_set_usage_limits(uuid, jsonb, text) to service_role;
