-- A usage key follows the thing it names: consumed, released, consumed again.
--
-- usage_keys recorded a consume and a release of one key independently, and
-- neither was ever forgotten. A thing counted against a cap with its ID as
-- the key (the README's trigger), deleted (released with the key) and then
-- created again with the same ID (an undo, a restore from the trash, a
-- delete and insert that replaces a row) was answered "duplicate" and
-- counted nothing, so the user held more than the cap allowed; a second
-- delete after that gave nothing back either.
--
-- Now a key holds one direction at a time, its latest: a consume with a
-- key whose latest call was a consume is the duplicate (a retry), one whose
-- latest was a release counts again; the same for a release. A trigger on
-- usage_keys keeps that: recording a key's consume forgets its release, and
-- recording its release forgets its consume, so billing_consume_usage's and
-- billing_release_usage's "this key was seen in this direction" check (as
-- in 20261201040200_usage_counting.sql, unchanged) reads the key's latest
-- call. A retried call still counts once, and a refused consume still
-- records nothing. Keys that hold both directions from before keep the later one
-- (a release when both are of the same moment: a thing is released after
-- it was consumed).
--
-- Idempotent: the cleanup deletes only the older of a pair, the function is
-- create or replace and the trigger is dropped and created again.

delete from public.usage_keys k
using public.usage_keys o
where o.user_id = k.user_id and o.counter = k.counter and o.key = k.key
  and o.direction <> k.direction
  and (o.created_at > k.created_at or (o.created_at = k.created_at and o.direction = 'release'));

-- billing_usage_key_latest: before a key is recorded in one direction, its
-- record in the other is forgotten (the key's latest call is this one).
create or replace function public.billing_usage_key_latest()
returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  delete from public.usage_keys k
  where k.user_id = new.user_id and k.counter = new.counter and k.key = new.key
    and k.direction <> new.direction;
  return new;
end;
$$;

revoke all on function public.billing_usage_key_latest() from public, anon, authenticated;

drop trigger if exists billing_usage_key_latest on public.usage_keys;
create trigger billing_usage_key_latest
  before insert on public.usage_keys
  for each row execute function public.billing_usage_key_latest();
