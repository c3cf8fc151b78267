-- Exactly-once transactional email across out-of-order and duplicate
-- Stripe events: a dedupe key per logical email on the outbox, and a
-- holding table for emails whose user is not known yet.
--
-- Idempotent: every statement creates only what is missing.

-- One outbox row per logical email, e.g. "welcome:sub_1",
-- "cancellation_scheduled:sub_1:1767225600", "subscription_ended:sub_1",
-- "payment_failed:in_1:2". Writers insert with ON CONFLICT DO NOTHING.
alter table public.email_outbox
  add column if not exists dedupe_key text;

create unique index if not exists email_outbox_dedupe_key_key
  on public.email_outbox (dedupe_key);

-- Emails of a Stripe customer not yet linked to a user (its subscription's
-- events arrived before checkout.session.completed). Nothing here is sent:
-- billing_apply_event moves the rows into email_outbox when the customer is
-- linked. No email address is stored.
create table if not exists public.billing_held_emails (
  dedupe_key text primary key,
  customer_id text not null,
  subscription_id text,
  event_id text not null,
  kind text not null,
  locale text,
  template_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create index if not exists billing_held_emails_customer_id_idx
  on public.billing_held_emails (customer_id);

alter table public.billing_held_emails enable row level security;

revoke all on public.billing_held_emails from anon, authenticated;
grant all on public.billing_held_emails to service_role;
