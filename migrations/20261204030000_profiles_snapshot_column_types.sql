-- The billing snapshot columns of an app's profiles have billing's types.
--
-- The tables migration adds the snapshot columns with "add column if not
-- exists", so a column the app already had keeps the app's type. The
-- user's own seed schema (seeds/001-payment-flow-astro.md, 2-1) declares
-- active_plan and active_status as enum types: the usage backfill compared
-- them with '' and stopped the migration run (22P02; now compared as text),
-- and every refresh writes plan and status names as text, which an enum
-- column refuses, and a plan the enum does not list (a catalog's new plan)
-- could never be stored. Billing owns these columns: each one of another
-- type is converted, its values kept (USING column::text, or the cast to
-- timestamptz or boolean), and a literal default kept as a literal of the
-- new type. A column a view depends on cannot change type: the migration
-- then stops with PostgreSQL's error naming the view, and nothing of it is
-- applied.
--
-- Idempotent: a column of the right type is left alone.

do $migration$
declare
  r record;
  v_default text;
begin
  for r in
    select a.attname::text as col, w.want, format_type(a.atttypid, a.atttypmod) as have,
           pg_get_expr(d.adbin, d.adrelid) as def
    from (values ('stripe_customer_id', 'text'), ('active_plan', 'text'), ('active_status', 'text'),
                 ('active_subscription_id', 'text'),
                 ('subscription_current_period_end', 'timestamp with time zone'),
                 ('cancel_at_period_end', 'boolean'),
                 ('billing_updated_at', 'timestamp with time zone')) w(col, want)
    join pg_attribute a on a.attrelid = 'public.profiles'::regclass and a.attname = w.col
      and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where format_type(a.atttypid, a.atttypmod) <> w.want
  loop
    raise notice 'profiles.% is % here; billing converts it to %', r.col, r.have, r.want;
    -- A literal default ('free'::subscription_plan) stays that literal.
    v_default := substring(r.def from '^''((?:[^'']|'''')*)''');
    execute format('alter table public.profiles alter column %I drop default', r.col);
    execute format('alter table public.profiles alter column %1$I type %2$s using %1$I::text::%2$s', r.col, r.want);
    if v_default is not null then
      execute format('alter table public.profiles alter column %I set default %L::%s', r.col,
        replace(v_default, '''''', ''''), r.want);
    end if;
  end loop;
end
$migration$;
