-- Billing tables: the profile snapshot, subscriptions, the Stripe event log,
-- usage limits and the email outbox.
--
-- Idempotent: every statement creates only what is missing, so the file can
-- run again, and on a project whose app already has a profiles table.

-- profiles ---------------------------------------------------------------------

-- The app's own table when it has one; we add only the billing snapshot.
-- When we create it, clients get only what they need: Supabase's default
-- privileges would give anon and authenticated ALL on a new table, but
-- profiles are inserted by the trigger below, never deleted by a client, and
-- read and updated (own row) only by signed-in users (RLS migration). An
-- app's own table keeps its grants (see the RLS migration for the few
-- privileges revoked there too).
do $migration$
begin
  if to_regclass('public.profiles') is null then
    create table public.profiles (
      id uuid primary key references auth.users (id) on delete cascade,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    revoke all on public.profiles from anon;
    revoke insert, delete, truncate, references, trigger on public.profiles from authenticated;
  end if;
end
$migration$;

-- The billing snapshot: the state check-subscription reads, written only by
-- the server (see the guard trigger in the RLS migration).
alter table public.profiles
  add column if not exists stripe_customer_id text,
  add column if not exists active_plan text,
  add column if not exists active_status text,
  add column if not exists active_subscription_id text,
  add column if not exists subscription_current_period_end timestamptz,
  add column if not exists cancel_at_period_end boolean not null default false,
  add column if not exists billing_updated_at timestamptz;

-- One Stripe customer belongs to one user (never linked by email).
create unique index if not exists profiles_stripe_customer_id_key
  on public.profiles (stripe_customer_id);

-- A profile for every user: a trigger for new users, a backfill for old ones.
-- The function only inserts the id and skips existing rows, so it coexists
-- with an app's own "handle_new_user" trigger. Its trigger name sorts last so
-- that it runs after such a trigger (AFTER triggers fire in name order), and a
-- failure here never blocks a sign-up (it is logged as a warning; the billing
-- functions treat a missing profile as one without billing data).
create or replace function public.billing_create_profile()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  begin
    insert into public.profiles (id) values (new.id)
    on conflict (id) do nothing;
  exception when others then
    raise warning 'billing_create_profile: no profile for user %: % (%)',
      new.id, sqlerrm, sqlstate;
  end;
  return new;
end;
$$;

revoke all on function public.billing_create_profile() from public, anon, authenticated;

-- Created only when missing: on Supabase, auth.users belongs to Supabase Auth
-- and dropping a trigger needs ownership, creating one does not.
do $migration$
begin
  if not exists (
    select 1 from pg_trigger
    where tgrelid = 'auth.users'::regclass and tgname = 'zz_billing_create_profile'
  ) then
    create trigger zz_billing_create_profile
      after insert on auth.users
      for each row execute function public.billing_create_profile();
  end if;
end
$migration$;

insert into public.profiles (id)
select u.id from auth.users u
on conflict (id) do nothing;

-- subscriptions ----------------------------------------------------------------

-- One row per Stripe subscription, kept forever (full history).
create table if not exists public.subscriptions (
  id text primary key,                       -- Stripe subscription ID (sub_...)
  user_id uuid references auth.users (id) on delete set null, -- null until the user is known
  customer_id text not null,                 -- Stripe customer ID (cus_...)
  livemode boolean not null default false,
  status text not null,                      -- Stripe status, verbatim
  price_id text,
  plan text,                                 -- catalog plan ID of price_id
  quantity integer,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  cancel_at timestamptz,
  canceled_at timestamptz,
  ended_at timestamptz,
  trial_start timestamptz,
  trial_end timestamptz,
  cancellation_reason text,                  -- cancellation_details.reason
  cancellation_feedback text,                -- cancellation_details.feedback
  cancellation_comment text,                 -- cancellation_details.comment
  stripe_created timestamptz,                -- the subscription's "created"
  state_at timestamptz not null,             -- Stripe time of the state stored: event.created or fetch time
  raw jsonb,                                 -- the last subscription object
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists subscriptions_user_id_idx
  on public.subscriptions (user_id);
create index if not exists subscriptions_customer_id_idx
  on public.subscriptions (customer_id);

-- stripe_events ----------------------------------------------------------------

-- The idempotency record and audit log of webhook events, written in the
-- same transaction as the event's effects.
create table if not exists public.stripe_events (
  id text primary key,                       -- Stripe event ID (evt_...)
  type text not null,
  livemode boolean not null default false,
  api_version text,
  stripe_created timestamptz,                -- event.created
  payload jsonb,
  status text not null default 'processed'
    check (status in ('processed', 'ignored', 'failed')),
  error text,
  attempts integer not null default 0,
  received_at timestamptz not null default now(),
  processed_at timestamptz
);

create index if not exists stripe_events_type_created_idx
  on public.stripe_events (type, stripe_created);
create index if not exists stripe_events_failed_idx
  on public.stripe_events (received_at) where status = 'failed';

-- usage_limits -----------------------------------------------------------------

-- Per user and counter: the plan's limit, the count in the current period,
-- and the period's first day in the row's time zone (monthly reset).
create table if not exists public.usage_limits (
  user_id uuid not null references auth.users (id) on delete cascade,
  counter text not null check (counter <> ''),
  limit_value integer check (limit_value >= 0), -- null = unlimited
  used integer not null default 0 check (used >= 0),
  period_start date not null
    default (date_trunc('month', now() at time zone 'Asia/Tokyo'))::date,
  time_zone text not null default 'Asia/Tokyo',
  -- The end of the paid access the limit was written for: null while it
  -- renews, the scheduled end of a cancel, -infinity for the free plan.
  -- From then on the free plan's limit (billing_plan_limits) applies.
  valid_until timestamptz,
  updated_at timestamptz not null default now(),
  primary key (user_id, counter)
);

-- billing_plan_limits ----------------------------------------------------------

-- The plan catalog's limits as the database knows them, one row per plan:
-- limits {"<counter>": n, or null = unlimited; a counter a plan does not
-- name allows 0}, is_free marks the catalog's free plan, time_zone is the
-- catalog's monthly-reset zone. The usage functions take the free plan's
-- limit from here for a user without a row of their own and for a row whose
-- paid access has ended. Written only by billing_sync_catalog (billing
-- migrate, every billing_apply_event, reconcile runs). Server only.
create table if not exists public.billing_plan_limits (
  plan text primary key check (plan <> ''),
  is_free boolean not null default false,
  limits jsonb not null default '{}'::jsonb check (jsonb_typeof(limits) = 'object'),
  time_zone text not null default 'Asia/Tokyo',
  updated_at timestamptz not null default now()
);

create unique index if not exists billing_plan_limits_free_key
  on public.billing_plan_limits (is_free) where is_free;

-- email_outbox -----------------------------------------------------------------

-- One email per (event, kind), retried until sent. No email address is stored:
-- the sender looks it up in auth.users when it sends.
create table if not exists public.email_outbox (
  id bigserial primary key,
  event_id text not null,                    -- Stripe event ID (or another unique cause)
  kind text not null,                        -- template kind, e.g. subscription_started
  user_id uuid references auth.users (id) on delete cascade,
  locale text,
  template_data jsonb not null default '{}'::jsonb,
  status text not null default 'pending'
    check (status in ('pending', 'sent', 'logged', 'failed', 'gave_up')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  unique (event_id, kind)
);

create index if not exists email_outbox_due_idx
  on public.email_outbox (next_attempt_at) where status in ('pending', 'failed');
