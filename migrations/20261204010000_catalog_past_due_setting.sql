-- past_due_keeps_access is part of the synced catalog.
--
-- Whether a past_due subscription keeps its plan is a catalog setting, and
-- check-subscription applies the deployed catalog at once. The database
-- recorded each user's plan (billing_usage_plans, and the profile's
-- snapshot) when an event last refreshed them, but billing_sync_catalog
-- stored only the plans' limits and counter kinds: a deploy that turned
-- the setting off left a past_due user's recorded plan in force, so
-- consume_usage kept allowing the paid plan's 10 while check-subscription
-- reported the free plan's 3 (and the reverse when it was turned on),
-- until some event of that user came. DESIGN.md: the database enforces the
-- same limits check-subscription reports.
--
-- Now billing_plan_limits holds the setting (the same on every row, as it
-- holds the counter kinds), the catalog's fingerprint covers it, and when
-- a sync writes a setting other than the one stored, every user with a
-- past_due subscription of the catalog's mode is refreshed in the same
-- transaction (billing_refresh_user_state, as an event would): their
-- snapshot and recorded plan then follow the new setting. The lock order
-- is the one billing_apply_event already has (the catalog lock, then a
-- profile's row), so the two cannot deadlock.
--
-- Idempotent: add column if not exists, create or replace with the same
-- signatures and grants.

alter table public.billing_plan_limits
  add column if not exists past_due_keeps_access boolean not null default false;

-- billing_sync_catalog: as in 20261203020000_catalog_sync_one_lock.sql,
-- with past_due_keeps_access stored, fingerprinted and compared, and the
-- past_due users refreshed when it changes.
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
  v_keeps boolean;
  v_stored_keeps boolean;
  v_mode text := nullif(p_catalog ->> 'mode', '');
  v_user uuid;
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
  if coalesce(jsonb_typeof(p_catalog -> 'past_due_keeps_access'), 'null') not in ('boolean', 'null') then
    raise exception 'past_due_keeps_access must be true or false' using errcode = '22023';
  end if;
  v_keeps := coalesce((p_catalog ->> 'past_due_keeps_access')::boolean, false);

  -- The common case: this document was found to match before, and the
  -- table has not been written since.
  v_fingerprint := md5(jsonb_build_array(p_catalog -> 'plans', v_free, v_tz, v_kinds, v_keeps)::text);
  select c.plans into v_count from public.billing_catalog_synced c where c.fingerprint = v_fingerprint;
  if found then
    return jsonb_build_object('changed', false, 'plans', v_count);
  end if;

  -- A document not seen since the last write: the catalog lock, held
  -- alone until this transaction ends (a writer's trigger takes the same
  -- lock before its write), then the fingerprint again (a caller that
  -- waited finds the one recorded by the caller before it), then the
  -- comparison, and the write if the table holds another catalog. One
  -- lock, taken once: a caller never waits for a stronger lock while
  -- holding a weaker one, so two callers cannot deadlock.
  perform pg_advisory_xact_lock(hashtextextended('billing:catalog', 0));
  select c.plans into v_count from public.billing_catalog_synced c where c.fingerprint = v_fingerprint;
  if found then
    return jsonb_build_object('changed', false, 'plans', v_count);
  end if;
  select bool_and(b.past_due_keeps_access) into v_stored_keeps from public.billing_plan_limits b;
  if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz, v_kinds)
     and not exists (select 1 from public.billing_plan_limits b where b.past_due_keeps_access <> v_keeps) then
    select count(*) into v_count from public.billing_plan_limits;
    insert into public.billing_catalog_synced (fingerprint, plans) values (v_fingerprint, v_count)
    on conflict (fingerprint) do nothing;
    return jsonb_build_object('changed', false, 'plans', v_count);
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

  delete from public.billing_plan_limits;
  insert into public.billing_plan_limits (plan, is_free, limits, time_zone, kinds, past_due_keeps_access, updated_at)
  select e.key, e.key = v_free, e.value, v_tz, v_kinds, v_keeps, now()
  from jsonb_each(v_plans) e;
  select count(*) into v_count from jsonb_object_keys(v_plans);
  insert into public.billing_catalog_synced (fingerprint, plans) values (v_fingerprint, v_count);

  -- Another past_due setting than the stored one (or none stored): the
  -- users it changes are those with a past_due subscription of this mode,
  -- linked by user or through their profile's customer. Each is refreshed
  -- as an event would refresh them, in the order of their IDs.
  if v_stored_keeps is distinct from v_keeps then
    for v_user in
      select u.id from (
        select s.user_id as id from public.subscriptions s
        where s.status = 'past_due' and s.user_id is not null
          and (v_mode is null or s.livemode = (v_mode = 'live'))
        union
        select p.id from public.subscriptions s
        join public.profiles p on p.stripe_customer_id = s.customer_id
        where s.status = 'past_due' and s.user_id is null
          and (v_mode is null or s.livemode = (v_mode = 'live'))
      ) u
      order by u.id
    loop
      perform public.billing_refresh_user_state(v_user, p_catalog);
    end loop;
  end if;
  return jsonb_build_object('changed', true, 'plans', v_count);
end;
$$;

revoke all on function public.billing_sync_catalog(jsonb) from public, anon, authenticated;
grant execute on function public.billing_sync_catalog(jsonb) to service_role;
