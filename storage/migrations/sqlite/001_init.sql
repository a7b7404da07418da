-- Switchboard schema, SQLite. Times are ISO-8601 UTC text of fixed width (text order is time
-- order); JSON is TEXT. Keep in step with supabase/migrations/*_init.sql.

CREATE TABLE agent_configs (
    tenant         TEXT NOT NULL,
    persona        TEXT NOT NULL,
    prompt         TEXT,
    greeting       TEXT,
    voice_id       TEXT,
    voice_settings TEXT NOT NULL DEFAULT '{}',
    providers      TEXT NOT NULL DEFAULT '{}',
    tools          TEXT NOT NULL DEFAULT '[]',
    webhook_urls   TEXT NOT NULL DEFAULT '[]',
    recording      INTEGER,
    enabled        INTEGER NOT NULL DEFAULT 1,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (tenant, persona)
);

CREATE TABLE calls (
    id             TEXT PRIMARY KEY,
    tenant         TEXT NOT NULL DEFAULT 'default',
    persona        TEXT NOT NULL,
    transport      TEXT NOT NULL,
    room           TEXT,
    caller_number  TEXT,
    called_number  TEXT,
    caller_key     TEXT,
    started_at     TEXT NOT NULL,
    answered_at    TEXT,
    ended_at       TEXT,
    end_reason     TEXT,
    duration_secs  REAL,
    cost           TEXT,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended', 'failed')),
    recording_url  TEXT,
    analysis       TEXT,
    latency        TEXT,
    metadata       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX calls_started ON calls (started_at);
CREATE INDEX calls_tenant_started ON calls (tenant, started_at);
CREATE INDEX calls_tenant_caller_key ON calls (tenant, caller_key);
CREATE INDEX calls_tenant_caller_number ON calls (tenant, caller_number);

CREATE TABLE transcript_turns (
    call_id     TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    text        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    interrupted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE turn_metrics (
    id             INTEGER PRIMARY KEY,
    call_id        TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    turn           INTEGER NOT NULL,
    end_of_turn_ms REAL,
    stt_ms         REAL,
    llm_ms         REAL,
    tts_ms         REAL,
    own_ms         REAL,
    tool_ms        REAL,
    total_ms       REAL,
    created_at     TEXT NOT NULL
);
CREATE INDEX turn_metrics_call ON turn_metrics (call_id, turn);

-- rowid is explicit (row_num) so the external-content FTS index survives VACUUM.
CREATE TABLE memories (
    row_num        INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    tenant         TEXT NOT NULL DEFAULT 'default',
    caller_key     TEXT NOT NULL,
    text           TEXT NOT NULL,
    source_call_id TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX memories_caller ON memories (tenant, caller_key, created_at);
CREATE INDEX memories_created ON memories (created_at);

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    text, content = 'memories', content_rowid = 'row_num', tokenize = 'porter unicode61'
);
CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, text) VALUES (new.row_num, new.text);
END;
CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text) VALUES ('delete', old.row_num, old.text);
END;
CREATE TRIGGER memories_au AFTER UPDATE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text) VALUES ('delete', old.row_num, old.text);
    INSERT INTO memories_fts (rowid, text) VALUES (new.row_num, new.text);
END;

CREATE TABLE appointments (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL DEFAULT 'default',
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    name       TEXT NOT NULL,
    phone      TEXT,
    notes      TEXT,
    call_id    TEXT,
    created_at TEXT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX appointments_tenant_time ON appointments (tenant, starts_at, ends_at);

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL DEFAULT 'default',
    call_id       TEXT,
    kind          TEXT NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'voicemail')),
    caller_number TEXT,
    name          TEXT,
    text          TEXT NOT NULL,
    recording_url TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX messages_tenant_created ON messages (tenant, created_at);
CREATE INDEX messages_call ON messages (call_id);

CREATE TABLE callbacks (
    id             TEXT PRIMARY KEY,
    tenant         TEXT NOT NULL DEFAULT 'default',
    call_id        TEXT,
    phone          TEXT NOT NULL,
    name           TEXT,
    preferred_time TEXT,
    reason         TEXT,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled')),
    created_at     TEXT NOT NULL
);
CREATE INDEX callbacks_tenant_created ON callbacks (tenant, created_at);
CREATE INDEX callbacks_call ON callbacks (call_id);

CREATE TABLE recordings (
    call_id       TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    channels      INTEGER NOT NULL DEFAULT 2,
    sample_rate   INTEGER NOT NULL,
    duration_secs REAL NOT NULL,
    bytes         INTEGER NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE outbox_events (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL DEFAULT 'default',
    call_id         TEXT,
    type            TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX outbox_due ON outbox_events (status, next_attempt_at);
CREATE INDEX outbox_created ON outbox_events (created_at);
CREATE INDEX outbox_call ON outbox_events (call_id);
