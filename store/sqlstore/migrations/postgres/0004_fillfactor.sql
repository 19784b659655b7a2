-- Fill factor: room on each page for a row's next version.
--
-- Recording uses rewrites last_used_at and last_used_ip of every key and
-- value used, a batch of them at a time. Neither column is in any index,
-- so PostgreSQL can write the new version of a row on the page that holds
-- the old one, and skip every index (a heap-only tuple, HOT), but only if
-- the page has room for it: at the default fill factor of 100 it has
-- none, and each update writes a new tuple on another page and an entry
-- in every index of the table. A batch may use every key of a page, so
-- the page needs room for a second version of each of its rows: at 70
-- only a third of the rows of a batch over every key were HOT (measured
-- here), at 50 nineteen in twenty, and the batch took a fifth of the
-- time. The versions a batch leaves are pruned before the next, so the
-- room comes back. Keys and values are small and few per owner; the
-- tables take twice the pages.
--
-- ALTER TABLE … SET changes only how pages are filled from now on; pages
-- written before keep no room, and get it as their rows move out when
-- they are next updated and VACUUM frees the old versions. The tables are
-- not rewritten here: a rewrite (VACUUM FULL, CLUSTER) holds an ACCESS
-- EXCLUSIVE lock for as long as it copies, inside the migration's
-- transaction, and every Lookup and Load waits behind it, for a gain that
-- comes on its own after a few batches of uses. An operator who wants it
-- at once can run VACUUM FULL secrets, secret_values in a quiet hour.

ALTER TABLE secrets SET (fillfactor = 50);
ALTER TABLE secret_values SET (fillfactor = 50);
