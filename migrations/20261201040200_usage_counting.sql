-- Usage limits (issue 13): get_usage, consume_usage and release_usage, for
-- caps and monthly counters, with optional idempotency keys.
--
-- Redefines billing_get_usage, and drops and recreates
-- billing_consume_usage and consume_usage with p_key (from
-- 20261121000400_billing_usage.sql). Conventions as in
-- 20261121000300_billing_functions.sql. Idempotent.

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
