-- Client privileges narrowed to what billing needs (security review,
-- findings 1 and 8).
--
-- 1. An app's own profiles table. The RLS migration granted authenticated
--    table-wide SELECT and UPDATE and added an own-row UPDATE policy, so a
--    signed-in user could write any column of their row that the billing
--    guard does not cover (an app's is_admin, credits or plan flags) where
--    the app allowed only "update (display_name)", or no update at all.
--    Billing needs no client write on profiles (its columns are written by
--    the server only), so on a table with columns of the app's:
--      - our own-row UPDATE policy is dropped: the app's policies decide;
--      - when the app grants authenticated column-level UPDATE (or SELECT),
--        the table-wide privilege is ours and is revoked; the app's column
--        grants are given back (revoking a table privilege drops them), and
--        for SELECT so are the billing columns, so users still read their
--        own snapshot;
--      - a table-wide UPDATE without column grants is kept when the app
--        itself grants authenticated INSERT or DELETE (Supabase's default
--        privileges) or has an UPDATE policy of its own, and revoked
--        otherwise (then nothing but ours used it).
--    The profiles table the tables migration created (no app columns) keeps
--    its own-row select and update: it holds nothing but billing columns,
--    which the guard trigger protects.
--
-- 8. subscriptions.raw is the whole Stripe object, with any metadata an
--    admin put on it. Its owner could read it through RLS. Clients now read
--    only the columns an app shows; raw, the customer ID, the cancellation
--    details and the bookkeeping columns stay server-only.
--
-- Idempotent: run again (or after the RLS migration ran again) it reaches
-- the same privileges.

-- profiles ---------------------------------------------------------------------

do $migration$
declare
  v_table constant regclass := 'public.profiles'::regclass;
  v_authd constant oid := (select oid from pg_roles where rolname = 'authenticated');
  v_ours constant text[] := array[
    'id', 'created_at', 'updated_at',
    'stripe_customer_id', 'active_plan', 'active_status', 'active_subscription_id',
    'subscription_current_period_end', 'cancel_at_period_end', 'billing_updated_at'];
  v_billing constant text[] := array[
    'id', 'stripe_customer_id', 'active_plan', 'active_status', 'active_subscription_id',
    'subscription_current_period_end', 'cancel_at_period_end', 'billing_updated_at'];
  v_app_columns text[];
  v_col_update text[];
  v_col_select text[];
  v_table_privs text[];
  v_app_update_policy boolean;
begin
  select array_agg(a.attname::text order by a.attnum) into v_app_columns
  from pg_attribute a
  where a.attrelid = v_table and a.attnum > 0 and not a.attisdropped
    and a.attname::text <> all (v_ours);
  if v_app_columns is null then
    return; -- the table the tables migration created: nothing of the app's to widen
  end if;

  drop policy if exists billing_profiles_update_own on public.profiles;

  -- What authenticated holds, table-wide and per column.
  select coalesce(array_agg(distinct x.privilege_type), '{}') into v_table_privs
  from pg_class c, aclexplode(c.relacl) x
  where c.oid = v_table and x.grantee = v_authd;

  select array_agg(distinct a.attname::text) filter (where x.privilege_type = 'UPDATE'),
         array_agg(distinct a.attname::text) filter (where x.privilege_type = 'SELECT')
    into v_col_update, v_col_select
  from pg_attribute a, aclexplode(a.attacl) x
  where a.attrelid = v_table and a.attnum > 0 and not a.attisdropped
    and a.attacl is not null and x.grantee = v_authd;

  select exists (
    select 1 from pg_policies p
    where p.schemaname = 'public' and p.tablename = 'profiles'
      and p.cmd in ('UPDATE', 'ALL') and p.policyname not like 'billing\_%'
      and p.roles && array['public', 'authenticated']::name[]
  ) into v_app_update_policy;

  if 'UPDATE' = any (v_table_privs) then
    if v_col_update is not null then
      revoke update on public.profiles from authenticated;
      execute format('grant update (%s) on public.profiles to authenticated',
        (select string_agg(quote_ident(c), ', ') from unnest(v_col_update) c));
    elsif not ('INSERT' = any (v_table_privs) or 'DELETE' = any (v_table_privs) or v_app_update_policy) then
      revoke update on public.profiles from authenticated;
    end if;
  end if;

  if 'SELECT' = any (v_table_privs) and v_col_select is not null then
    revoke select on public.profiles from authenticated;
    execute format('grant select (%s) on public.profiles to authenticated',
      (select string_agg(distinct quote_ident(c), ', ') from unnest(v_col_select || v_billing) c));
  end if;
end
$migration$;

-- subscriptions ----------------------------------------------------------------

revoke select on public.subscriptions from authenticated;
grant select (
  id, user_id, livemode, status, price_id, plan, quantity,
  current_period_start, current_period_end, cancel_at_period_end, cancel_at,
  canceled_at, ended_at, trial_start, trial_end, created_at, updated_at
) on public.subscriptions to authenticated;
