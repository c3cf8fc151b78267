-- Cached plans for the SQL helpers on the webhook's apply path.
--
-- A function in LANGUAGE sql that PostgreSQL cannot inline (these three
-- cannot: each has SET search_path, and two are not single scalar
-- selects) is parsed and planned again at every call; PostgreSQL before 18
-- keeps no plan for it. Measured with track_functions = all under the load
-- driver's fresh webhook events (docs/benchmarks.md), per applied event:
-- billing_granting_subscriptions 0.62 ms, billing_catalog_matches 0.32 ms
-- (also on every duplicate delivery), billing_usage_answer 0.21 ms, most of
-- it planning. As plpgsql with the same single statement, each plan is
-- cached per connection and a call is an execution.
--
-- Same signatures, return types, volatility, security and results; only
-- the language changes, and billing_granting_subscriptions reads a user's
-- subscriptions as the union of two index scans (by user_id; by customer_id
-- for rows not linked yet) instead of an OR across a join. Idempotent:
-- create or replace.

create or replace function public.billing_granting_subscriptions(p_user_id uuid, p_catalog jsonb)
returns text[]
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_customer text;
begin
  select p.stripe_customer_id into v_customer from public.profiles p where p.id = p_user_id;
  return (
    select coalesce(array_agg(t.id order by (t.scheduled_end is null) desc, t.scheduled_end desc,
                              t.current_period_end desc nulls last, t.stripe_created desc nulls last,
                              t.id collate "C" desc), '{}')
    from (
      select s.id, s.current_period_end, s.stripe_created,
             case when s.cancel_at_period_end and s.current_period_end is not null
                  then least(s.current_period_end, s.cancel_at)
                  else s.cancel_at end as scheduled_end
      from (
        select * from public.subscriptions s1 where s1.user_id = p_user_id
        union all
        select * from public.subscriptions s2
        where s2.user_id is null and v_customer is not null and s2.customer_id = v_customer
      ) s
      where (nullif(p_catalog ->> 'mode', '') is null or s.livemode = (p_catalog ->> 'mode' = 'live'))
        and (s.status in ('active', 'trialing')
             or (s.status = 'past_due' and coalesce((p_catalog ->> 'past_due_keeps_access')::boolean, false)))
        and coalesce((p_catalog #>> array['plans', s.plan, 'paid'])::boolean, false)
    ) t
    where t.scheduled_end is null or now() < t.scheduled_end);
end;
$$;
revoke all on function public.billing_granting_subscriptions(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.billing_granting_subscriptions(uuid, jsonb) to service_role;

create or replace function public.billing_catalog_matches(
  p_plans jsonb, p_free text, p_time_zone text, p_kinds jsonb)
returns boolean
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
  return (
    select (select count(*) from public.billing_plan_limits) = (select count(*) from jsonb_object_keys(p_plans))
       and not exists (
         select e.key, e.key = p_free, coalesce(e.value -> 'limits', '{}'::jsonb), p_time_zone, p_kinds
         from jsonb_each(p_plans) e
         except
         select f.plan, f.is_free, f.limits, f.time_zone, f.kinds
         from public.billing_plan_limits f));
end;
$$;
revoke all on function public.billing_catalog_matches(jsonb, text, text, jsonb) from public, anon, authenticated;

create or replace function public.billing_usage_answer(
  p_counter text, p_kind text, p_used integer, p_limit integer, p_period_start date,
  p_time_zone text, p_allowed boolean, p_reason text)
returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
  return public.billing_usage_json(p_counter, p_used, p_limit,
           case when p_kind = 'cap' then null else p_period_start end,
           p_time_zone, p_allowed, p_reason)
         || jsonb_build_object('kind', p_kind);
end;
$$;
revoke all on function public.billing_usage_answer(text, text, integer, integer, date, text, boolean, text)
  from public, anon, authenticated;
