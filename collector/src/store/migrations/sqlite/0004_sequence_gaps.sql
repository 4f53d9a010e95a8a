-- Batches an agent never delivered: the sum of the gaps between the
-- sequence numbers accepted from it, shown in `agent list`.
ALTER TABLE agents ADD COLUMN missing_batches INTEGER NOT NULL DEFAULT 0;
