-- billing_concurrent_subscriptions: the users with more than one
-- subscription that grants access now (a second live subscription, paid in
-- two tabs or made in the Dashboard), for the reconcile report (issue 9).
-- Uses billing_granting_subscriptions of 20261201010000_billing_review_apply.sql.
-- Idempotent.

-- billing_concurrent_subscriptions returns {"<user>": [sub, ...], ...}, the
-- subscriptions best first (the first one counts), of every user or of
-- p_user_id only. p_catalog is the catalog document of billing_apply_event
-- (its mode and its paid plans decide what grants).
create or replace function public.billing_concurrent_subscriptions(p_catalog jsonb, p_user_id uuid default null)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_object_agg(x.user_id, to_jsonb(x.subs)), '{}'::jsonb)
  from (
    select c.user_id, public.billing_granting_subscriptions(c.user_id, p_catalog) as subs
    from (
      select p.id as user_id
      from public.profiles p
      join public.subscriptions s
        on s.user_id = p.id or (s.user_id is null and p.stripe_customer_id is not null
                                and s.customer_id = p.stripe_customer_id)
      where (p_user_id is null or p.id = p_user_id)
        and s.status in ('active', 'trialing', 'past_due')
      group by p.id
      having count(*) > 1
    ) c
  ) x
  where cardinality(x.subs) > 1;
$$;

revoke all on function public.billing_concurrent_subscriptions(jsonb, uuid) from public, anon, authenticated;
grant execute on function public.billing_concurrent_subscriptions(jsonb, uuid) to service_role;
