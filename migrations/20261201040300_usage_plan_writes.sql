-- Usage limits (issue 13): what the webhook writes, and what
-- check-subscription reads in its one call per request.
--
-- Redefines billing_set_usage_limits (from 20261121000400_billing_usage.sql;
-- it also records the plan in billing_usage_plans) and adds
-- billing_check_state. Conventions as in
-- 20261121000300_billing_functions.sql. Idempotent.

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
