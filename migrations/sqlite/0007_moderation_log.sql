-- Moderation (issue #6), first part: locked threads and the public moderation log.
-- A locked post or reply takes no new replies (Lemmy's `Lock`, undone by `Undo(Lock)`).
ALTER TABLE posts ADD COLUMN locked BIGINT NOT NULL DEFAULT 0;

-- Every moderation action on a community, local or received: what, who, on what, why.
CREATE TABLE modlog (
    id           INTEGER PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    actor_id     BIGINT REFERENCES people (id) ON DELETE SET NULL,
    action       TEXT   NOT NULL,
    post_id      BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    person_id    BIGINT REFERENCES people (id) ON DELETE SET NULL,
    reason       TEXT,
    activity_id  TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX modlog_community ON modlog (community_id, id);
