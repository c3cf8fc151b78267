-- Row level security and privileges of the billing tables.
--
-- Users read only their own rows. No client (anon or authenticated) writes a
-- billing column: policies cannot see OLD, so a trigger rejects the change.
-- subscriptions, stripe_events, usage_limits and email_outbox are written only
-- by the server (service_role or the billing SQL functions).
--
-- Idempotent: policies are dropped and created again, grants and revokes can
-- be repeated.

-- profiles ---------------------------------------------------------------------

-- The client privileges an app's profiles table had before billing granted
-- anything, recorded once (the first run) so that
-- 20261204020000_profiles_keep_app_privileges.sql can give the app's table
-- back exactly its own rules plus what billing needs. (Added after this
-- migration first shipped: a database migrated before has no record, and
-- that migration says so.) Server only.
create table if not exists public.billing_profiles_acl_before (
  table_acl aclitem[],
  column_acls jsonb not null default '{}'::jsonb, -- column -> aclitem[] as text
  recorded_at timestamptz not null default now()
);
alter table public.billing_profiles_acl_before enable row level security;
revoke all on public.billing_profiles_acl_before from public, anon, authenticated;
grant all on public.billing_profiles_acl_before to service_role;
insert into public.billing_profiles_acl_before (table_acl, column_acls)
select c.relacl,
       coalesce((select jsonb_object_agg(a.attname, a.attacl::text)
                 from pg_attribute a
                 where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attacl is not null), '{}')
from pg_class c
where c.oid = 'public.profiles'::regclass
  and not exists (select 1 from public.billing_profiles_acl_before);

alter table public.profiles enable row level security;

-- Policies are permissive, so an app's own profiles policies still apply;
-- ours only add "own row" access for signed-in users.
drop policy if exists billing_profiles_select_own on public.profiles;
create policy billing_profiles_select_own on public.profiles
  for select to authenticated
  using ((select auth.uid()) = id);

drop policy if exists billing_profiles_update_own on public.profiles;
create policy billing_profiles_update_own on public.profiles
  for update to authenticated
  using ((select auth.uid()) = id)
  with check ((select auth.uid()) = id);

-- The app's table: grant what our policies need and revoke nothing the app
-- may rely on, except what no client ever needs (truncate bypasses row level
-- security). Row level security decides which rows a client sees. A table
-- the tables migration created has no client insert or delete, and nothing
-- for anon, either.
grant select, update on public.profiles to authenticated;
revoke truncate, references, trigger on public.profiles from anon, authenticated;
grant all on public.profiles to service_role;

-- Rejects, for client roles, an insert that sets a billing column or an update
-- that changes one (SQLSTATE 42501). Not SECURITY DEFINER on purpose: inside
-- the billing functions (which are) current_user is their owner, so the
-- server's writes pass.
create or replace function public.billing_guard_profile_columns()
returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_column text;
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;

  if tg_op = 'INSERT' then
    v_column := case
      when new.stripe_customer_id is not null then 'stripe_customer_id'
      when new.active_plan is not null then 'active_plan'
      when new.active_status is not null then 'active_status'
      when new.active_subscription_id is not null then 'active_subscription_id'
      when new.subscription_current_period_end is not null then 'subscription_current_period_end'
      when new.cancel_at_period_end then 'cancel_at_period_end'
      when new.billing_updated_at is not null then 'billing_updated_at'
    end;
  else
    v_column := case
      when new.stripe_customer_id is distinct from old.stripe_customer_id then 'stripe_customer_id'
      when new.active_plan is distinct from old.active_plan then 'active_plan'
      when new.active_status is distinct from old.active_status then 'active_status'
      when new.active_subscription_id is distinct from old.active_subscription_id then 'active_subscription_id'
      when new.subscription_current_period_end is distinct from old.subscription_current_period_end
        then 'subscription_current_period_end'
      when new.cancel_at_period_end is distinct from old.cancel_at_period_end then 'cancel_at_period_end'
      when new.billing_updated_at is distinct from old.billing_updated_at then 'billing_updated_at'
    end;
  end if;

  if v_column is not null then
    raise exception 'profiles.% is a billing column and cannot be written by %', v_column, current_user
      using errcode = '42501',
            hint = 'Billing columns are written only by the billing server.';
  end if;
  return new;
end;
$$;

revoke all on function public.billing_guard_profile_columns() from public, anon, authenticated;

create or replace trigger billing_guard_profile_columns
  before insert or update on public.profiles
  for each row execute function public.billing_guard_profile_columns();

-- The billing columns are only as private as the app's own SELECT policies
-- on profiles: policies are permissive (OR-ed), so one not limited to the
-- row owner, such as the "Public profiles are viewable by everyone" policy
-- of Supabase's starter (using (true)), shows every user's billing snapshot
-- to whoever it admits. Warn, naming the policy; the fix is the app's:
-- restrict the policy to the owner, or move public fields to another table.
-- A policy counts as the owner's only when its USING is exactly
-- auth.uid() = <column> (either side, with or without a sub-select).
do $migration$
declare
  p record;
  v_qual text;
  v_roles text[];
begin
  for p in
    select pp.policyname, pp.roles, pp.qual
    from pg_policies pp
    where pp.schemaname = 'public' and pp.tablename = 'profiles'
      and pp.permissive = 'PERMISSIVE' and pp.cmd in ('SELECT', 'ALL')
      and pp.roles && array['public', 'anon', 'authenticated']::name[]
    order by pp.policyname
  loop
    v_qual := lower(regexp_replace(coalesce(p.qual, ''), '[[:space:]()]', '', 'g'));
    continue when v_qual = ''
      or v_qual ~ '^(selectauth\.uidasuid|auth\.uid)=[a-z_][a-z0-9_]*$'
      or v_qual ~ '^[a-z_][a-z0-9_]*=(selectauth\.uidasuid|auth\.uid)$';
    select array_agg(r.rolname order by r.rolname) into v_roles
    from pg_roles r
    where r.rolname in ('anon', 'authenticated')
      and (r.rolname = any(p.roles) or 'public' = any(p.roles))
      and has_column_privilege(r.rolname, 'public.profiles', 'active_plan', 'select');
    if v_roles is not null then
      raise warning 'profiles policy "%" lets % read other users'' profiles, billing columns included (stripe_customer_id, active_plan, ...)',
        p.policyname, array_to_string(v_roles, ' and ')
        using hint = 'Restrict the policy to the row owner (using ((select auth.uid()) = id)), '
                     'or move the public fields to a table of their own.';
    end if;
  end loop;
end
$migration$;

-- subscriptions ----------------------------------------------------------------

alter table public.subscriptions enable row level security;

drop policy if exists billing_subscriptions_select_own on public.subscriptions;
create policy billing_subscriptions_select_own on public.subscriptions
  for select to authenticated
  using ((select auth.uid()) = user_id);

revoke all on public.subscriptions from anon, authenticated;
grant select on public.subscriptions to authenticated;
grant all on public.subscriptions to service_role;

-- stripe_events (server only) --------------------------------------------------

alter table public.stripe_events enable row level security;

revoke all on public.stripe_events from anon, authenticated;
grant all on public.stripe_events to service_role;

-- usage_limits (users read their own; writes through the functions) ----------

alter table public.usage_limits enable row level security;

drop policy if exists billing_usage_limits_select_own on public.usage_limits;
create policy billing_usage_limits_select_own on public.usage_limits
  for select to authenticated
  using ((select auth.uid()) = user_id);

revoke all on public.usage_limits from anon, authenticated;
grant select on public.usage_limits to authenticated;
grant all on public.usage_limits to service_role;

-- billing_plan_limits (server only) --------------------------------------------

alter table public.billing_plan_limits enable row level security;

revoke all on public.billing_plan_limits from anon, authenticated;
grant all on public.billing_plan_limits to service_role;

-- email_outbox (server only) ---------------------------------------------------

alter table public.email_outbox enable row level security;

revoke all on public.email_outbox from anon, authenticated;
revoke all on sequence public.email_outbox_id_seq from anon, authenticated;
grant all on public.email_outbox to service_role;
grant usage, select on sequence public.email_outbox_id_seq to service_role;
