-- The instance's own moderation log (issue #6): what admins did to the whole instance —
-- federation policy changes (mode, allow, block) and instance-wide bans — public like the
-- communities' logs. actor_id is NULL for changes made with the CLI.
CREATE TABLE admin_log (
    id          INTEGER PRIMARY KEY,
    actor_id    BIGINT REFERENCES people (id) ON DELETE SET NULL,
    action      TEXT   NOT NULL,
    target      TEXT,
    reason      TEXT,
    created_at  BIGINT NOT NULL
);
