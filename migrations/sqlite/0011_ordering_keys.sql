-- Order per subject across processes (issue #4, decision 0005 amended): each activity we
-- emit carries what it is about (a post, a followed community: `delivery::ordering_key`),
-- copied to its deliveries. A delivery is claimed only when no earlier delivery of the same
-- subject to the same inbox is still queued, whichever process holds it, so a post's
-- Create, Update and Delete reach each inbox in order even with several processes and
-- after a failed attempt. '' (rows from before this migration) means no ordering.
ALTER TABLE activities ADD COLUMN ordering_key TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN ordering_key TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_subject_order ON deliveries (inbox, ordering_key, id);
