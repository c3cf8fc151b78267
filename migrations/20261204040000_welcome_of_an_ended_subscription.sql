-- A welcome of a subscription that has ended is not sent.
--
-- Stripe can deliver a short-lived subscription's deletion before its
-- creation (known trap 6). The late created event still enqueued
-- welcome:<sub> ("your subscription is active"), which was sent after the
-- subscription_ended email. DESIGN.md: an email whose state no longer holds
-- when it is due is not sent. billing_email_superseded now also reports a
-- welcome superseded when its subscription is stored as ended (canceled or
-- incomplete_expired). The emails enqueued stay the same in every delivery
-- order; which of them are sent follows the state when each is due, as for
-- payment_failed and cancellation_scheduled.
--
-- Idempotent: create or replace with the same signature and grants.

-- billing_email_superseded: as in 20261201010100_billing_outbox_superseded.sql,
-- plus the welcome rule above.
create or replace function public.billing_email_superseded(p_kind text, p_dedupe_key text, p_template jsonb)
returns boolean
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_sub record;
  v_at timestamptz;
begin
  if p_kind = 'welcome' then
    return exists (select 1 from public.subscriptions s
                   where s.id = p_template ->> 'subscription_id'
                     and s.status in ('canceled', 'incomplete_expired'));
  end if;
  if p_kind = 'payment_failed' then
    return exists (select 1 from public.billing_paid_invoices i
                   where i.invoice_id = p_template ->> 'invoice_id');
  end if;
  if p_kind = 'cancellation_scheduled' then
    select s.status, s.canceled_at,
           case when s.cancel_at_period_end and s.current_period_end is not null
                then least(s.current_period_end, s.cancel_at)
                else s.cancel_at end as scheduled_end
      into v_sub
    from public.subscriptions s where s.id = p_template ->> 'subscription_id';
    if not found then
      return false;
    end if;
    if v_sub.status not in ('active', 'trialing', 'past_due') or v_sub.scheduled_end is null then
      return true;
    end if;
    v_at := coalesce(v_sub.canceled_at, v_sub.scheduled_end);
    return p_dedupe_key is not null
       and split_part(p_dedupe_key, ':', 3) <> extract(epoch from v_at)::bigint::text;
  end if;
  return false;
end;
$$;

revoke all on function public.billing_email_superseded(text, text, jsonb) from public, anon, authenticated;
grant execute on function public.billing_email_superseded(text, text, jsonb) to service_role;
