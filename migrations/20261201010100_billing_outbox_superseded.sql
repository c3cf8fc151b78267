-- An email whose state no longer holds when it is due is not sent (issue 9):
-- billing_outbox_claim marks it 'superseded' instead of handing it out.
-- Redefines billing_outbox_claim of 20261121030000_billing_outbox.sql.
-- Idempotent.

-- billing_email_superseded -------------------------------------------------------

-- billing_email_superseded reports whether an outbox row announces a state
-- that no longer holds:
--   payment_failed          its invoice (template_data.invoice_id) has been
--                           paid since (billing_paid_invoices);
--   cancellation_scheduled  its subscription no longer has a scheduled end
--                           (resumed, or ended), or has one of another
--                           cancel (the time in the dedupe key differs:
--                           that cancel has its own email).
-- Everything else, and a row whose subscription is not stored, holds.
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

-- billing_outbox_claim -----------------------------------------------------------

-- billing_outbox_claim claims pending rows whose time has come: the rows with
-- Pending due rows whose state no longer holds (billing_email_superseded)
-- are first marked 'superseded' and not returned.
-- IDs in p_ids when p_ids is given (at most as many as it holds), else at most
-- p_limit due rows, oldest first. Each claimed row gets attempts + 1 and
-- next_attempt_at = now() + p_lease_seconds. It returns a JSON array of
-- {id, event_id, kind, user_id, email, locale, template_data, attempts}, where
-- email is read from auth.users now (never stored in the outbox) and is null
-- when the row has no user, the user is deleted (or soft-deleted), or has no
-- address: the sender then gives the row up without sending.
create or replace function public.billing_outbox_claim(
  p_ids bigint[] default null,
  p_limit integer default 10,
  p_lease_seconds integer default 600
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
declare
  v_limit integer;
  v_lease interval;
  v_out jsonb;
begin
  if p_ids is not null then
    v_limit := coalesce(cardinality(p_ids), 0);
  else
    v_limit := least(greatest(coalesce(p_limit, 10), 0), 1000);
  end if;
  if v_limit = 0 then
    return '[]'::jsonb;
  end if;
  v_lease := make_interval(secs => least(greatest(coalesce(p_lease_seconds, 600), 1), 86400));

  -- Rows whose state no longer holds are superseded, never sent.
  update public.email_outbox o
  set status = 'superseded', next_attempt_at = now(),
      last_error = 'superseded: the state it announced no longer holds'
  where o.id in (
      select c.id from public.email_outbox c
      where c.status = 'pending'
        and c.next_attempt_at <= now()
        and (p_ids is null or c.id = any (p_ids))
        and public.billing_email_superseded(c.kind, c.dedupe_key, c.template_data)
      order by c.next_attempt_at, c.id
      limit v_limit
      for update skip locked);

  with picked as (
    select o.id
    from public.email_outbox o
    where o.status = 'pending'
      and o.next_attempt_at <= now()
      and (p_ids is null or o.id = any (p_ids))
    order by o.next_attempt_at, o.id
    limit v_limit
    for update skip locked
  ),
  claimed as (
    update public.email_outbox o
    set attempts = o.attempts + 1,
        next_attempt_at = now() + v_lease
    from picked
    where o.id = picked.id
    returning o.id, o.event_id, o.kind, o.user_id, o.locale, o.template_data, o.attempts
  )
  select coalesce(jsonb_agg(jsonb_build_object(
      'id', c.id,
      'event_id', c.event_id,
      'kind', c.kind,
      'user_id', c.user_id,
      'email', case when u.deleted_at is null then nullif(btrim(u.email), '') end,
      'locale', c.locale,
      'template_data', coalesce(c.template_data, '{}'::jsonb),
      'attempts', c.attempts
    ) order by c.id), '[]'::jsonb)
  into v_out
  from claimed c
  left join auth.users u on u.id = c.user_id;

  return v_out;
end;
$$;

revoke all on function public.billing_outbox_claim(bigint[], integer, integer)
  from public, anon, authenticated;
grant execute on function public.billing_outbox_claim(bigint[], integer, integer)
  to service_role;
