-- Supabase stand-ins for plain PostgreSQL (local development and tests).
--
-- Applied by shared/migrate before the migrations, and only on a server that
-- is not Supabase. Every statement creates only what is missing, so running
-- this file again, or on a database that already has some of these objects,
-- is harmless. It never replaces Supabase's own auth.uid(), auth.role() or
-- auth.jwt().
--
-- Roles are cluster-wide while this file runs once per database, possibly in
-- several databases at once (parallel tests): a role created concurrently by
-- another session is not an error.

-- Roles -----------------------------------------------------------------------

do $bootstrap$
declare
  r record;
begin
  for r in
    select * from (values
      ('anon', 'nologin noinherit'),
      ('authenticated', 'nologin noinherit'),
      ('service_role', 'nologin noinherit bypassrls')
    ) as v(name, options)
  loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.options);
      exception when duplicate_object or unique_violation then
        null; -- created meanwhile by a concurrent bootstrap
      end;
    end if;
  end loop;
end
$bootstrap$;

-- Schemas ---------------------------------------------------------------------

create schema if not exists auth;

grant usage on schema public to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;

-- Supabase grants every API role all privileges on new objects in public by
-- default; row level security and explicit revokes are what protect data.
-- Mirror that here so the migrations' revokes are exercised by the tests.
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

-- auth.users ------------------------------------------------------------------

-- A minimal subset of Supabase Auth's table: what the billing code and the
-- tests read. On Supabase the real table exists and this does nothing.
create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  aud text default 'authenticated',
  role text default 'authenticated',
  email text,
  phone text,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  email_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  is_anonymous boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

create unique index if not exists users_email_partial_key
  on auth.users (email) where email is not null;

grant all on auth.users to service_role;

-- auth.uid(), auth.role(), auth.jwt() -------------------------------------------

-- Same definitions as Supabase's: the claims come from PostgREST's
-- request.jwt.claims setting (or the older per-claim settings).
do $bootstrap$
begin
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'uid'
  ) then
    execute $fn$
      create function auth.uid() returns uuid
      language sql stable
      as $body$
        select coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $body$
    $fn$;
  end if;

  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'role'
  ) then
    execute $fn$
      create function auth.role() returns text
      language sql stable
      as $body$
        select coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
      $body$
    $fn$;
  end if;

  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'jwt'
  ) then
    execute $fn$
      create function auth.jwt() returns jsonb
      language sql stable
      as $body$
        select coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $body$
    $fn$;
  end if;
end
$bootstrap$;

grant execute on function auth.uid() to anon, authenticated, service_role;
grant execute on function auth.role() to anon, authenticated, service_role;
grant execute on function auth.jwt() to anon, authenticated, service_role;
