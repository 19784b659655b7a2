-- A placeholder for step 4, which another branch takes (the fillfactor
-- of the tables). Migrations refuse a gap in their sequence, and
-- reminders are step 5; the branch that merges second replaces this
-- file with the real step.
SELECT 1;
