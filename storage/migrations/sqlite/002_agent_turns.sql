-- A tenant's turn-taking changes (TurnSettings fields) for a persona, as JSON text.
ALTER TABLE agent_configs ADD COLUMN turns TEXT NOT NULL DEFAULT '{}';
