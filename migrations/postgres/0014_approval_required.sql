-- Approval-only communities (issue #6): a Follow stays pending until a moderator accepts it,
-- and only accepted members (and moderators) post and reply. For a remote community, what
-- its Group says (`manuallyApprovesFollowers`).
ALTER TABLE communities ADD COLUMN approval_required BIGINT NOT NULL DEFAULT 0;
