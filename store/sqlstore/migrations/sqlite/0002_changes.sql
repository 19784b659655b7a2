-- Changes: which owners' keysets were saved, for Store.Changes.
--
-- Every save sets change_seq to one more than the largest in the table,
-- inside its write transaction. SQLite has one writer at a time, so the
-- numbers grow in the order saves commit, and a cursor is the largest
-- number a reader has seen. Rows saved before this step hold 0.

ALTER TABLE owners ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;

CREATE INDEX owners_change_seq ON owners (change_seq);
