-- A tenant's turn-taking changes (TurnSettings fields) for a persona; the same column as
-- storage/migrations/sqlite/002_agent_turns.sql.
alter table agent_configs add column turns jsonb not null default '{}';
