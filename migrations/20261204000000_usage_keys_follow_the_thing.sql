-- A usage key follows the thing it names: consumed, released, consumed again.
--
-- usage_keys recorded a consume and a release of one key independently, and
-- neither was ever forgotten. A thing counted against a cap with its ID as
-- the key (the README's trigger), deleted (released with the key) and then
-- created again with the same ID (an undo, a restore from the trash, a
-- delete and insert that replaces a row) was answered "duplicate" and
-- counted nothing, so the user held more than the cap allowed; a second
-- delete after that gave nothing back either.
--
-- Now a key holds one direction at a time, its latest: a consume with a
-- key whose latest call was a consume is the duplicate (a retry), one whose
-- latest was a release counts again; the same for a release. A counted
-- consume forgets the key's release, a release forgets its consume. A
-- retried call still counts once, and a refused consume still records
-- nothing. Keys that hold both directions from before keep the later one
-- (a release when both are of the same moment: a thing is released after
-- it was consumed).
--
-- Idempotent: the cleanup deletes only the older of a pair, and the
-- functions are create or replace with the same signatures and grants.

delete from public.usage_keys k
using public.usage_keys o
where o.user_id = k.user_id and o.counter = k.counter and o.key = k.key
  and o.direction <> k.direction
  and (o.created_at > k.created_at or (o.created_at = k.created_at and o.direction = 'release'));

-- billing_consume_usage: as in 20261201040200_usage_counting.sql, with the
-- key's latest direction deciding whether the call is a duplicate.
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
        -- The key's latest call is this consume: its release is forgotten.
        delete from public.usage_keys k
        where k.user_id = p_user_id and k.counter = p_counter and k.direction = 'release' and k.key = p_key;
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

-- billing_release_usage: as in 20261201040200_usage_counting.sql, with the
-- key's latest direction deciding whether the call is a duplicate.
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
      -- The key's latest call is this release: its consume is forgotten,
      -- so the thing can be counted again when it comes back.
      delete from public.usage_keys k
      where k.user_id = p_user_id and k.counter = p_counter and k.direction = 'consume' and k.key = p_key;
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
