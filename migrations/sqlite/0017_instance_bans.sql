-- Instance-wide bans (issue #6): by an admin of this instance (banned_by = 'admin'), or
-- announced by the person's own instance for one of its users (banned_by = that host, as
-- Lemmy sends a site ban). A banned person posts, replies and votes nowhere here.
CREATE TABLE instance_bans (
    person_id  BIGINT NOT NULL PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    reason     TEXT,
    expires_at BIGINT,
    banned_by  TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
