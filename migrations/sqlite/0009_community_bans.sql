-- Community bans (issue #6): a banned person cannot post, reply or vote in the community
-- until `expires_at` (NULL: until unbanned). Lemmy's `Block` with the community as target.
CREATE TABLE community_bans (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    person_id    BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    reason       TEXT,
    expires_at   BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (community_id, person_id)
);
