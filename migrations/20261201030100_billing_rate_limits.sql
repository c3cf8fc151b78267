-- Per-user rate limit of the functions that call Stripe (security review,
-- finding 6): one account must not burn the Stripe API rate limit that the
-- webhook's fetches also need. A counter per user, function and fixed
-- window, in the database so that every Lambda instance shares it.
--
-- Server-only: written by billing_rate_limit_hit, which only service_role
-- (and the pgx path's owner) may execute.

create table if not exists public.billing_rate_limits (
  user_id uuid not null,
  bucket text not null,                 -- the function's URL name
  window_start timestamptz not null,    -- start of the current window
  hits integer not null default 0,      -- calls counted in that window
  primary key (user_id, bucket)
);

alter table public.billing_rate_limits enable row level security;
revoke all on public.billing_rate_limits from anon, authenticated;
grant all on public.billing_rate_limits to service_role;

-- Counts one call of p_bucket by p_user_id and answers whether it is within
-- p_limit calls per p_window_seconds, and if not, in how many seconds the
-- next window opens: {"allowed": bool, "hits": int, "retry_after": int}.
-- One row per user and bucket, updated in place (no growth over time).
create or replace function public.billing_rate_limit_hit(
  p_user_id uuid,
  p_bucket text,
  p_limit integer,
  p_window_seconds integer
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := clock_timestamp();
  v_window timestamptz;
  v_hits integer;
begin
  if p_user_id is null or coalesce(p_bucket, '') = '' or p_limit is null or p_limit < 1
     or p_window_seconds is null or p_window_seconds < 1 then
    raise exception 'billing_rate_limit_hit: bad arguments' using errcode = '22023';
  end if;
  v_window := to_timestamp(floor(extract(epoch from v_now) / p_window_seconds) * p_window_seconds);

  insert into public.billing_rate_limits as r (user_id, bucket, window_start, hits)
  values (p_user_id, p_bucket, v_window, 1)
  on conflict (user_id, bucket) do update
    set hits = case when r.window_start = excluded.window_start then r.hits + 1 else 1 end,
        window_start = excluded.window_start
  returning r.hits into v_hits;

  return jsonb_build_object(
    'allowed', v_hits <= p_limit,
    'hits', v_hits,
    'retry_after', greatest(1, ceil(extract(epoch from (v_window + make_interval(secs => p_window_seconds) - v_now)))::integer)
  );
end;
$$;

revoke all on function public.billing_rate_limit_hit(uuid, text, integer, integer) from public, anon, authenticated;
grant execute on function public.billing_rate_limit_hit(uuid, text, integer, integer) to service_role;
