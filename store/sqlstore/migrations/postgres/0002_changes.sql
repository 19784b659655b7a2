-- Changes: which owners' keysets were saved, for Store.Changes.
--
-- Every save sets changed_xid to the id of its transaction
-- (pg_current_xact_id()). A cursor is the xmin of a snapshot: every
-- transaction that snapshot does not see has an id at least as large, so
-- the owners with changed_xid >= cursor include every save committed
-- after it. Rows saved before this step hold 0. xid8 needs PostgreSQL 13.

ALTER TABLE owners ADD COLUMN changed_xid xid8 NOT NULL DEFAULT '0';

CREATE INDEX owners_changed_xid ON owners (changed_xid);
