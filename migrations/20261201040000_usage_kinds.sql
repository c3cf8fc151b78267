-- Usage limits that mean what the apps mean (issue 13): tables.
--
-- Two kinds of counter, declared per counter in the plan catalog: a cap on
-- what a user holds (never resets; release_usage gives units back) and a
-- monthly count (resets at 00:00 on the 1st in the catalog's time zone).
-- The limit a user's counter allows is looked up at every call from the
-- catalog copy (billing_plan_limits) by the plan the user's limits were
-- last written for (billing_usage_plans), so a new catalog applies to
-- everyone as soon as it is synced, with no per-user rewrite. Idempotency
-- keys (usage_keys) make a retried consume count once and a repeated
-- release give back once.
--
-- Forward-only and idempotent: IF NOT EXISTS, and a backfill that inserts
-- only what is missing. The functions are in the next migration.

-- billing_plan_limits.kinds ----------------------------------------------------

-- The catalog's counter kinds, the same on every row: {"<counter>": "cap" |
-- "monthly"}; a counter not named is monthly. Written by billing_sync_catalog.
alter table public.billing_plan_limits
  add column if not exists kinds jsonb not null default '{}'::jsonb;

do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'billing_plan_limits_kinds_object') then
    alter table public.billing_plan_limits
      add constraint billing_plan_limits_kinds_object check (jsonb_typeof(kinds) = 'object');
  end if;
end;
$$;

-- billing_usage_plans ----------------------------------------------------------

-- Per user: the plan whose limits the usage functions apply, and until when
-- (valid_until: null while it renews, a scheduled cancel's end, -infinity
-- for the free plan). From valid_until on, the free plan's limits apply.
-- Written by billing_set_usage_limits (from billing_refresh_user, with the
-- plan billing_refresh_user has just put on the profile). Server only.
create table if not exists public.billing_usage_plans (
  user_id uuid primary key references auth.users (id) on delete cascade,
  plan text not null check (plan <> ''),
  valid_until timestamptz,
  updated_at timestamptz not null default now()
);

alter table public.billing_usage_plans enable row level security;
revoke all on public.billing_usage_plans from anon, authenticated;
grant all on public.billing_usage_plans to service_role;

-- Users whose limits were written before plans were recorded: the plan on
-- their profile, valid until their most recently written row's end.
insert into public.billing_usage_plans (user_id, plan, valid_until, updated_at)
select p.id, p.active_plan,
       (select u.valid_until from public.usage_limits u where u.user_id = p.id
        order by u.updated_at desc limit 1),
       now()
from public.profiles p
where p.active_plan is not null and p.active_plan::text <> ''
  and exists (select 1 from public.usage_limits u where u.user_id = p.id)
  and exists (select 1 from auth.users a where a.id = p.id)
on conflict (user_id) do nothing;

-- usage_keys -------------------------------------------------------------------

-- One row per idempotency key a consume or a release was made with, per
-- user, counter and direction: a second call with the key changes nothing.
-- A refused consume records no key (its retry may succeed). Server only;
-- users see their usage through get_usage and usage_limits.
create table if not exists public.usage_keys (
  user_id uuid not null references auth.users (id) on delete cascade,
  counter text not null check (counter <> ''),
  direction text not null check (direction in ('consume', 'release')),
  key text not null check (length(key) between 1 and 200),
  amount integer not null check (amount >= 0),
  created_at timestamptz not null default now(),
  primary key (user_id, counter, direction, key)
);

alter table public.usage_keys enable row level security;
revoke all on public.usage_keys from anon, authenticated;
grant all on public.usage_keys to service_role;
