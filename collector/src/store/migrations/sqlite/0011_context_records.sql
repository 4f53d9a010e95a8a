-- Scan-context records (the Exchange organisation, flow environments, the
-- Teams tenant, a file search) are kept in the register but are not
-- connectors: the fleet's and the reports' counts leave them out. The flag
-- is kept beside the entry so that the grouped counts read no JSON.
ALTER TABLE connectors ADD COLUMN context INTEGER NOT NULL DEFAULT 0;
UPDATE connectors SET context = 1
WHERE json_extract(entry, '$.attributes."plumbline:record"') = 'context';
-- The fleet's grouped counts read this index alone; it now carries the flag.
DROP INDEX connectors_by_category;
CREATE INDEX connectors_by_category ON connectors (tenant_id, category, present, context, co_owner_count, key);
