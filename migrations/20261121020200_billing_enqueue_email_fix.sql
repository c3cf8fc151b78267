-- billing_enqueue_email, fixed: an email naming a subscription that is not
-- stored (an invoice of an unknown subscription) lost its customer, so it was
-- neither sent nor held. Replaces the function of
-- 20261121020100_billing_apply_event.sql. Idempotent: CREATE OR REPLACE.

-- billing_enqueue_email --------------------------------------------------------

-- billing_enqueue_email writes one logical email (p_email: {kind,
-- dedupe_key, subscription_id, customer_id, template_data}) once: to the
-- outbox when its user is known (the subscription's user, else the user of
-- the customer), else to billing_held_emails by customer. Returns the new
-- outbox row's id, or null (held, or already there).
create or replace function public.billing_enqueue_email(p_event_id text, p_email jsonb, p_locale text)
returns bigint
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_key text := p_email ->> 'dedupe_key';
  v_sub text := nullif(p_email ->> 'subscription_id', '');
  v_customer text := nullif(p_email ->> 'customer_id', '');
  v_user uuid;
  v_id bigint;
begin
  if v_key is null or v_key = '' or coalesce(p_email ->> 'kind', '') = '' then
    raise exception 'an email needs a kind and a dedupe_key' using errcode = '22023';
  end if;
  if exists (select 1 from public.email_outbox o where o.dedupe_key = v_key) then
    return null;
  end if;
  if v_sub is not null then
    select s.user_id, coalesce(v_customer, s.customer_id) into v_user, v_customer
    from public.subscriptions s where s.id = v_sub;
    if not found then
      -- SELECT INTO set both targets to null.
      v_customer := nullif(p_email ->> 'customer_id', '');
    end if;
  end if;
  if v_user is null and v_customer is not null then
    select p.id into v_user from public.profiles p where p.stripe_customer_id = v_customer;
  end if;
  if v_user is null then
    if v_customer is not null then
      insert into public.billing_held_emails
        (dedupe_key, customer_id, subscription_id, event_id, kind, locale, template_data)
      values (v_key, v_customer, v_sub, p_event_id, p_email ->> 'kind', p_locale,
              coalesce(p_email -> 'template_data', '{}'::jsonb))
      on conflict (dedupe_key) do nothing;
    end if;
    return null;
  end if;
  insert into public.email_outbox
    (event_id, kind, user_id, locale, template_data, status, attempts, next_attempt_at, dedupe_key)
  values (p_event_id, p_email ->> 'kind', v_user, p_locale,
          coalesce(p_email -> 'template_data', '{}'::jsonb), 'pending', 0, now(), v_key)
  on conflict do nothing
  returning id into v_id;
  return v_id;
end;
$$;

revoke all on function public.billing_enqueue_email(text, jsonb, text) from public, anon, authenticated;
