-- Email outbox: claiming rows to send and recording the outcome.
--
-- The webhook inserts email_outbox rows (status 'pending') in the same
-- transaction as the event's effects. After commit, and later from the
-- reconcile job, shared/mail claims rows with billing_outbox_claim, sends
-- them through SendGrid, and records each outcome with billing_outbox_mark.
--
-- A claim is a lease: the row stays 'pending' but its next_attempt_at moves
-- p_lease_seconds into the future and its attempts count goes up, in one
-- statement that skips rows another sender holds locked. Two senders never
-- get the same row, and the rows of a sender that crashed before marking
-- them come back once the lease runs out.
--
-- Statuses (the table's check constraint): 'pending' (to send, or claimed),
-- 'sent' (SendGrid accepted it), 'logged' (no SendGrid key: written to the
-- log instead), 'gave_up' (no address, or attempts exhausted). 'failed' is
-- never stored by these functions: a failed attempt goes back to 'pending'
-- with a backoff until it gives up.
--
-- Idempotent: CREATE OR REPLACE, and grants can be repeated.

-- billing_outbox_claim ---------------------------------------------------------

-- billing_outbox_claim claims pending rows whose time has come: the rows with
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

-- billing_outbox_mark ----------------------------------------------------------

-- billing_outbox_mark records the outcome of sending a claimed row:
--   'sent', 'logged': done; sent_at = now().
--   'failed': back to 'pending', next_attempt_at = now() + 1 minute *
--             2^(attempts - 1), at most 6 hours; or 'gave_up' once attempts
--             >= p_max_attempts (default 8).
--   'gave_up': done without sending (e.g. no address).
-- p_error becomes last_error (cut to 1000 characters; the caller leaves
-- addresses out of it); a success keeps the last error for the record.
-- Only a 'pending' row changes: marking a row that is already done (its
-- lease ran out and another sender finished it) changes nothing.
-- Returns {found, id, status, attempts, next_attempt_at, changed}.
create or replace function public.billing_outbox_mark(
  p_id bigint,
  p_status text,
  p_error text default null,
  p_max_attempts integer default 8
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
declare
  v_row public.email_outbox%rowtype;
  v_max integer := greatest(coalesce(p_max_attempts, 8), 1);
  v_error text := left(nullif(p_error, ''), 1000);
  v_changed boolean := false;
begin
  if p_status is null or p_status not in ('sent', 'logged', 'failed', 'gave_up') then
    raise exception 'billing_outbox_mark: status must be sent, logged, failed or gave_up (got %)', p_status
      using errcode = '22023';
  end if;

  select * into v_row from public.email_outbox where id = p_id for update;
  if not found then
    return jsonb_build_object('found', false, 'id', p_id, 'changed', false);
  end if;

  if v_row.status = 'pending' then
    v_changed := true;
    if p_status in ('sent', 'logged') then
      update public.email_outbox
      set status = p_status, sent_at = now(), next_attempt_at = now()
      where id = p_id
      returning * into v_row;
    elsif p_status = 'gave_up' or v_row.attempts >= v_max then
      update public.email_outbox
      set status = 'gave_up', last_error = coalesce(v_error, last_error), next_attempt_at = now()
      where id = p_id
      returning * into v_row;
    else
      update public.email_outbox
      set last_error = coalesce(v_error, last_error),
          next_attempt_at = now() + least(
            interval '1 minute' * power(2, least(greatest(v_row.attempts, 1) - 1, 30)),
            interval '6 hours')
      where id = p_id
      returning * into v_row;
    end if;
  end if;

  return jsonb_build_object(
    'found', true,
    'id', v_row.id,
    'status', v_row.status,
    'attempts', v_row.attempts,
    'next_attempt_at', public.billing_rfc3339(v_row.next_attempt_at),
    'changed', v_changed
  );
end;
$$;

revoke all on function public.billing_outbox_mark(bigint, text, text, integer)
  from public, anon, authenticated;
grant execute on function public.billing_outbox_mark(bigint, text, text, integer)
  to service_role;
