-- Reports (issue #6): someone flags a post or reply for the community's moderators. Inbound
-- Flags (Lemmy 0.19/1.0 send them to the community) and local reports land here.
-- reporter_id is NULL when the reporter is not known here (a report forwarded by a
-- community, which never names the reporter to other instances).
CREATE TABLE reports (
    id           INTEGER PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    post_id      BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    reporter_id  BIGINT REFERENCES people (id) ON DELETE SET NULL,
    reason       TEXT   NOT NULL,
    activity_id  TEXT   NOT NULL UNIQUE,
    status       TEXT   NOT NULL DEFAULT 'open',
    resolved_by  BIGINT REFERENCES people (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    resolved_at  BIGINT
);
-- Moderators read a community's open reports, newest first.
CREATE INDEX reports_community ON reports (community_id, status, id);
