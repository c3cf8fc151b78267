-- billing_sync_catalog takes one lock, once.
--
-- 20261203010000_apply_does_only_needed_work.sql gave billing_sync_catalog
-- fingerprints: a document not recorded in billing_catalog_synced was
-- compared with billing_plan_limits, and if it matched, compared again
-- under the catalog lock taken shared, to record it. If the table changed
-- between the two comparisons (another catalog's write committed), the
-- call went on to write its own catalog and asked for the lock alone while
-- still holding it shared. Two such calls at once each waited for the
-- other's shared lock: PostgreSQL found the deadlock and failed one of
-- them (40P01; TestSyncCatalogTwoCallsAfterAWrite saw it).
--
-- Now a call that misses the fingerprint takes the lock alone at once,
-- looks the fingerprint up again (a call that waited finds the one the
-- call before it recorded), and then compares and writes as before. A
-- miss happens once per catalog document after each write of the table,
-- so the hit path, which takes no lock, is unchanged. Same document,
-- checks, answer and writes.
--
-- Idempotent: create or replace, with the same grants.

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
  if public.billing_catalog_matches(p_catalog -> 'plans', v_free, v_tz, v_kinds) then
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
