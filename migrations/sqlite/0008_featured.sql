-- Pinned posts (issue #6): a moderator features a post at the top of its community, the
-- Group's `featured` collection (Lemmy's `Add`/`Remove` with that collection as target).
ALTER TABLE posts ADD COLUMN featured BIGINT NOT NULL DEFAULT 0;
CREATE INDEX posts_featured ON posts (community_id) WHERE featured = 1;
