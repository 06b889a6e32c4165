-- Community feeds list top-level posts only (root_id IS NULL), newest, most active or best
-- first: partial indexes in each order, so a page reads 50 index entries instead of
-- sorting every post and reply of the community.
CREATE INDEX posts_feed_new ON posts (community_id, published) WHERE root_id IS NULL;
CREATE INDEX posts_feed_active ON posts (community_id, last_activity) WHERE root_id IS NULL;
CREATE INDEX posts_feed_top ON posts (community_id, score) WHERE root_id IS NULL;
-- A person's votes are looked up per thread page.
CREATE INDEX votes_person ON votes (person_id, post_id);
