-- The apply path writes only what changes.
--
-- Every subscription event ends in billing_refresh_user, which rewrote the
-- user's snapshot in profiles and, through billing_set_usage_limits, every
-- usage_limits row and the billing_usage_plans row, whether or not
-- anything in them changed. Under the load driver (16 senders, fresh
-- events that change only the subscription's Stripe time) those writes
-- were the largest part of an event's database time after
-- billing_apply_event's own statements (BenchmarkApplyFunctionTimes:
-- billing_refresh_user 0.96 ms per event in all, billing_set_usage_limits
-- 0.66 ms). Now each of the three writes is made only when a value
-- differs: the same rows and values result (updated_at and
-- billing_updated_at become "last changed"), with no new row version, no
-- WAL and no index entry for an unchanged row, and no Realtime change for
-- the app's profile subscription.
--
-- Idempotent: create or replace, with the same signatures and grants.

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

  -- Written only when the snapshot changes: most events (a renewal's
  -- invoice, a metadata edit, a later copy of the same state) leave it as
  -- it is, and an unchanged row is neither a new row version nor a
  -- Realtime change for the app. billing_updated_at is when it last
  -- changed.
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
  perform public.billing_set_usage_limits(p_user_id, v_limits,
    coalesce(nullif(p_catalog ->> 'time_zone', ''), 'Asia/Tokyo'), v_until);
  return v_plan;
end;
$$;

revoke all on function public.billing_refresh_user(uuid, jsonb) from public, anon, authenticated;

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
          updated_at = now()
      where (u.limit_value, u.time_zone, u.valid_until)
            is distinct from (excluded.limit_value, excluded.time_zone, excluded.valid_until);
  end loop;

  insert into public.billing_usage_plans as up (user_id, plan, valid_until, updated_at)
  select p.id, p.active_plan, p_valid_until, now()
  from public.profiles p
  where p.id = p_user_id and p.active_plan is not null and p.active_plan <> ''
    and exists (select 1 from auth.users a where a.id = p.id)
  on conflict (user_id) do update
    set plan = excluded.plan, valid_until = excluded.valid_until, updated_at = now()
    where (up.plan, up.valid_until) is distinct from (excluded.plan, excluded.valid_until);

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
