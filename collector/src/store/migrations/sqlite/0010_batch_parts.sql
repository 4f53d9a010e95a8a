-- A scan too large for one batch arrives in parts that share a scan id
-- (`ScanBatch::part`). The last part finds the earlier ones by it, so that
-- what disappeared is decided from the whole scan, never from one part.
ALTER TABLE batches ADD COLUMN scan_id TEXT;
CREATE INDEX batches_by_scan ON batches (agent_id, scan_id) WHERE scan_id IS NOT NULL;
