-- Switchboard schema, PostgreSQL (Supabase). The same tables as
-- storage/migrations/sqlite/001_init.sql, with native types: timestamptz, jsonb, a generated
-- tsvector for memory search, an exclusion constraint against overlapping appointments, and
-- SQL functions the backend calls over PostgREST RPC. Every table has row level security on
-- and no policies: only the service role (which bypasses RLS) reads or writes.

create extension if not exists btree_gist;

create table agent_configs (
    tenant         text not null,
    persona        text not null,
    prompt         text,
    greeting       text,
    voice_id       text,
    voice_settings jsonb not null default '{}',
    providers      jsonb not null default '{}',
    tools          jsonb not null default '[]',
    webhook_urls   jsonb not null default '[]',
    recording      boolean,
    enabled        boolean not null default true,
    updated_at     timestamptz not null default now(),
    primary key (tenant, persona)
);

create table calls (
    id            text primary key,
    tenant        text not null default 'default',
    persona       text not null,
    transport     text not null,
    room          text,
    caller_number text,
    called_number text,
    caller_key    text,
    started_at    timestamptz not null default now(),
    answered_at   timestamptz,
    ended_at      timestamptz,
    end_reason    text,
    duration_secs double precision,
    cost          jsonb,
    status        text not null default 'active' check (status in ('active', 'ended', 'failed')),
    recording_url text,
    analysis      jsonb,
    latency       jsonb,
    metadata      jsonb not null default '{}'
);
create index calls_started on calls (started_at);
create index calls_tenant_started on calls (tenant, started_at);
create index calls_tenant_caller_key on calls (tenant, caller_key);
create index calls_tenant_caller_number on calls (tenant, caller_number);

create table transcript_turns (
    call_id     text not null references calls (id) on delete cascade,
    seq         integer not null,
    role        text not null check (role in ('user', 'assistant', 'tool')),
    text        text not null,
    started_at  timestamptz not null default now(),
    ended_at    timestamptz,
    interrupted boolean not null default false,
    primary key (call_id, seq)
);

create table turn_metrics (
    id             bigint generated always as identity primary key,
    call_id        text not null references calls (id) on delete cascade,
    turn           integer not null,
    end_of_turn_ms double precision,
    stt_ms         double precision,
    llm_ms         double precision,
    tts_ms         double precision,
    own_ms         double precision,
    tool_ms        double precision,
    total_ms       double precision,
    created_at     timestamptz not null default now()
);
create index turn_metrics_call on turn_metrics (call_id, turn);

create table memories (
    id             text primary key,
    tenant         text not null default 'default',
    caller_key     text not null,
    text           text not null,
    source_call_id text,
    created_at     timestamptz not null default now(),
    search         tsvector generated always as (to_tsvector('english', text)) stored
);
create index memories_caller on memories (tenant, caller_key, created_at);
create index memories_created on memories (created_at);
create index memories_search on memories using gin (search);

create table appointments (
    id         text primary key,
    tenant     text not null default 'default',
    starts_at  timestamptz not null,
    ends_at    timestamptz not null,
    name       text not null,
    phone      text,
    notes      text,
    call_id    text,
    created_at timestamptz not null default now(),
    constraint appointments_ends_after_start check (ends_at > starts_at),
    constraint appointments_no_overlap
        exclude using gist (tenant with =, tstzrange(starts_at, ends_at) with &&)
);

create table messages (
    id            text primary key,
    tenant        text not null default 'default',
    call_id       text,
    kind          text not null default 'message' check (kind in ('message', 'voicemail')),
    caller_number text,
    name          text,
    text          text not null,
    recording_url text,
    created_at    timestamptz not null default now()
);
create index messages_tenant_created on messages (tenant, created_at);
create index messages_call on messages (call_id);

create table callbacks (
    id             text primary key,
    tenant         text not null default 'default',
    call_id        text,
    phone          text not null,
    name           text,
    preferred_time text,
    reason         text,
    status         text not null default 'pending'
                   check (status in ('pending', 'done', 'cancelled')),
    created_at     timestamptz not null default now()
);
create index callbacks_tenant_created on callbacks (tenant, created_at);
create index callbacks_call on callbacks (call_id);

create table recordings (
    call_id       text primary key references calls (id) on delete cascade,
    url           text not null,
    channels      integer not null default 2,
    sample_rate   integer not null,
    duration_secs double precision not null,
    bytes         bigint not null,
    created_at    timestamptz not null default now()
);

create table outbox_events (
    id              text primary key,
    tenant          text not null default 'default',
    call_id         text,
    type            text not null,
    url             text not null,
    payload         jsonb not null,
    status          text not null default 'pending'
                    check (status in ('pending', 'delivered', 'failed')),
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    created_at      timestamptz not null default now(),
    delivered_at    timestamptz
);
create index outbox_due on outbox_events (status, next_attempt_at);
create index outbox_created on outbox_events (created_at);
create index outbox_call on outbox_events (call_id);

alter table agent_configs enable row level security;
alter table calls enable row level security;
alter table transcript_turns enable row level security;
alter table turn_metrics enable row level security;
alter table memories enable row level security;
alter table appointments enable row level security;
alter table messages enable row level security;
alter table callbacks enable row level security;
alter table recordings enable row level security;
alter table outbox_events enable row level security;

-- A caller's memories ranked against some words (any word may match), best first.
create function search_memories(p_tenant text, p_caller_key text, p_words text[], p_limit integer)
returns setof memories
language sql stable
as $$
    with q as (
        select websearch_to_tsquery(
            'english', array_to_string(array_remove(p_words, 'or'), ' or ')
        ) as query
    )
    select m.* from memories m, q
    where m.tenant = p_tenant and m.caller_key = p_caller_key and m.search @@ q.query
    order by ts_rank(m.search, q.query) desc, m.created_at desc
    limit p_limit
$$;

-- One failed delivery attempt: count it, keep the error, retry later or give up (null).
create function outbox_attempt_failed(p_id text, p_error text, p_next_attempt_at timestamptz)
returns integer
language sql
as $$
    with changed as (
        update outbox_events
        set attempts = attempts + 1,
            last_error = p_error,
            status = case when p_next_attempt_at is null then 'failed' else 'pending' end,
            next_attempt_at = coalesce(p_next_attempt_at, next_attempt_at)
        where id = p_id
        returning 1
    )
    select count(*)::integer from changed
$$;

-- Retention: delete what was created before p_cutoff; counts per table and the recording URLs
-- whose objects the backend then removes from Storage.
create function purge_older_than(p_cutoff timestamptz)
returns jsonb
language plpgsql
as $$
declare
    ids text[];
    result jsonb;
    n integer;
begin
    select coalesce(array_agg(id), '{}') into ids from calls where started_at < p_cutoff;
    select jsonb_build_object(
        'transcript_turns', (select count(*) from transcript_turns where call_id = any (ids)),
        'turn_metrics', (select count(*) from turn_metrics where call_id = any (ids)),
        'recordings', (select count(*) from recordings where call_id = any (ids)),
        'recording_urls',
            (select coalesce(jsonb_agg(url), '[]') from recordings where call_id = any (ids))
    ) into result;
    delete from messages where created_at < p_cutoff or call_id = any (ids);
    get diagnostics n = row_count; result := result || jsonb_build_object('messages', n);
    delete from callbacks where created_at < p_cutoff or call_id = any (ids);
    get diagnostics n = row_count; result := result || jsonb_build_object('callbacks', n);
    delete from memories where created_at < p_cutoff;
    get diagnostics n = row_count; result := result || jsonb_build_object('memories', n);
    delete from appointments where ends_at < p_cutoff;
    get diagnostics n = row_count; result := result || jsonb_build_object('appointments', n);
    delete from outbox_events where status in ('delivered', 'failed') and created_at < p_cutoff;
    get diagnostics n = row_count; result := result || jsonb_build_object('outbox_events', n);
    delete from calls where id = any (ids);
    get diagnostics n = row_count; result := result || jsonb_build_object('calls', n);
    return result;
end
$$;

-- A deletion request: everything about one caller (phone number or caller key) of one tenant.
create function delete_caller(p_tenant text, p_caller text)
returns jsonb
language plpgsql
as $$
declare
    ids text[];
    keys text[];
    result jsonb;
    n integer;
begin
    select coalesce(array_agg(id), '{}'),
           array_append(coalesce(array_agg(distinct caller_key)
                                 filter (where caller_key is not null), '{}'), p_caller)
    into ids, keys
    from calls
    where tenant = p_tenant and (caller_key = p_caller or caller_number = p_caller);
    select jsonb_build_object(
        'transcript_turns', (select count(*) from transcript_turns where call_id = any (ids)),
        'turn_metrics', (select count(*) from turn_metrics where call_id = any (ids)),
        'recordings', (select count(*) from recordings where call_id = any (ids)),
        'recording_urls',
            (select coalesce(jsonb_agg(url), '[]') from recordings where call_id = any (ids))
    ) into result;
    delete from messages
    where tenant = p_tenant and (caller_number = p_caller or call_id = any (ids));
    get diagnostics n = row_count; result := result || jsonb_build_object('messages', n);
    delete from callbacks where tenant = p_tenant and (phone = p_caller or call_id = any (ids));
    get diagnostics n = row_count; result := result || jsonb_build_object('callbacks', n);
    delete from appointments
    where tenant = p_tenant and (phone = p_caller or call_id = any (ids));
    get diagnostics n = row_count; result := result || jsonb_build_object('appointments', n);
    delete from memories
    where tenant = p_tenant and (caller_key = any (keys) or source_call_id = any (ids));
    get diagnostics n = row_count; result := result || jsonb_build_object('memories', n);
    delete from outbox_events where call_id = any (ids);
    get diagnostics n = row_count; result := result || jsonb_build_object('outbox_events', n);
    delete from calls where id = any (ids);
    get diagnostics n = row_count; result := result || jsonb_build_object('calls', n);
    return result;
end
$$;

-- Only the service role may call these (Supabase grants functions to anon by default).
revoke execute on function search_memories(text, text, text[], integer) from public;
revoke execute on function outbox_attempt_failed(text, text, timestamptz) from public;
revoke execute on function purge_older_than(timestamptz) from public;
revoke execute on function delete_caller(text, text) from public;
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        revoke execute on function search_memories(text, text, text[], integer) from anon, authenticated;
        revoke execute on function outbox_attempt_failed(text, text, timestamptz) from anon, authenticated;
        revoke execute on function purge_older_than(timestamptz) from anon, authenticated;
        revoke execute on function delete_caller(text, text) from anon, authenticated;
        grant execute on function search_memories(text, text, text[], integer) to service_role;
        grant execute on function outbox_attempt_failed(text, text, timestamptz) to service_role;
        grant execute on function purge_older_than(timestamptz) to service_role;
        grant execute on function delete_caller(text, text) to service_role;
    end if;
end
$$;
