-- An app's own profiles table keeps its own client privileges.
--
-- 20261121000200_billing_rls.sql granted authenticated table-wide SELECT
-- and UPDATE on profiles, and 20261201030000_billing_client_privileges.sql
-- then had to guess which privileges were the app's. It guessed wrong in
-- two shapes: an app that gave clients no SELECT (a column it hides, such
-- as internal notes) had every column readable by the row's owner, and an
-- app that granted SELECT and INSERT but no UPDATE, with an own-row policy
-- for all commands, had every app column (is_admin, credits) writable by
-- the row's owner. DESIGN.md: an app's existing profiles table gets no
-- grant or policy beyond what billing needs.
--
-- The RLS migration now records the client privileges the table had before
-- it granted anything (billing_profiles_acl_before). On a table with
-- columns of the app's, this migration gives anon and authenticated back
-- exactly those, table-wide and per column; then revokes what no client
-- needs (truncate, references, trigger) and, where the app lets signed-in
-- users read less than the whole table, grants them SELECT on the billing
-- columns only (their own row, by billing_profiles_select_own). The
-- profiles table the tables migration created (only billing columns) is
-- left as it is. A database migrated before the record existed cannot be
-- told apart: the migration leaves its privileges and raises a warning to
-- review them.
--
-- Idempotent: the same record gives the same privileges.

do $migration$
declare
  v_table constant regclass := 'public.profiles'::regclass;
  v_ours constant text[] := array[
    'id', 'created_at', 'updated_at',
    'stripe_customer_id', 'active_plan', 'active_status', 'active_subscription_id',
    'subscription_current_period_end', 'cancel_at_period_end', 'billing_updated_at'];
  v_billing constant text[] := array[
    'id', 'stripe_customer_id', 'active_plan', 'active_status', 'active_subscription_id',
    'subscription_current_period_end', 'cancel_at_period_end', 'billing_updated_at'];
  v_clients constant oid[] := array(select oid from pg_roles where rolname in ('anon', 'authenticated'));
  v_app_columns text[];
  v_all_columns text;
  v_record public.billing_profiles_acl_before;
  r record;
begin
  select array_agg(a.attname::text order by a.attnum) into v_app_columns
  from pg_attribute a
  where a.attrelid = v_table and a.attnum > 0 and not a.attisdropped
    and a.attname::text <> all (v_ours);
  if v_app_columns is null then
    return; -- the table the tables migration created
  end if;
  select * into v_record from public.billing_profiles_acl_before order by recorded_at limit 1;
  if not found then
    raise warning 'profiles: the client privileges the app''s table had before billing were not recorded (migrated before 20261204020000); review what anon and authenticated may select and update on public.profiles';
    return;
  end if;

  -- Everything the client roles hold now, table-wide and per column.
  select string_agg(quote_ident(a.attname), ', ') into v_all_columns
  from pg_attribute a where a.attrelid = v_table and a.attnum > 0 and not a.attisdropped;
  revoke all on public.profiles from anon, authenticated;
  execute format('revoke all (%s) on public.profiles from anon, authenticated', v_all_columns);

  -- The app's own, as recorded.
  for r in
    select x.privilege_type, g.rolname
    from aclexplode(coalesce(v_record.table_acl, '{}'::aclitem[])) x
    join pg_roles g on g.oid = x.grantee
    where x.grantee = any (v_clients)
  loop
    execute format('grant %s on public.profiles to %I', r.privilege_type, r.rolname);
  end loop;
  for r in
    select c.key as col, x.privilege_type, g.rolname
    from jsonb_each_text(v_record.column_acls) c
    cross join lateral aclexplode(c.value::aclitem[]) x
    join pg_roles g on g.oid = x.grantee
    where x.grantee = any (v_clients)
      and exists (select 1 from pg_attribute a
                  where a.attrelid = v_table and a.attname = c.key and a.attnum > 0 and not a.attisdropped)
  loop
    execute format('grant %s (%I) on public.profiles to %I', r.privilege_type, r.col, r.rolname);
  end loop;

  -- What no client needs (truncate bypasses row level security).
  revoke truncate, references, trigger on public.profiles from anon, authenticated;

  -- What billing needs: signed-in users read their own snapshot.
  if not has_table_privilege('authenticated', 'public.profiles', 'select') then
    execute format('grant select (%s) on public.profiles to authenticated',
      (select string_agg(quote_ident(c), ', ') from unnest(v_billing) c));
  end if;
end
$migration$;
