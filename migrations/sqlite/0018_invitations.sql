-- Invitations (issue #6). By link: a token anyone signed in here can use until it expires.
-- By handle: one person, on any instance (a remote invitee hears it as an `Invite`; a
-- Follow from them is then accepted even where members need approval). Rows for remote
-- communities are invitations our people received.
CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    token        TEXT UNIQUE,
    invitee_id   BIGINT REFERENCES people (id) ON DELETE CASCADE,
    invited_by   BIGINT REFERENCES people (id) ON DELETE SET NULL,
    activity_id  TEXT UNIQUE,
    expires_at   BIGINT,
    created_at   BIGINT NOT NULL,
    accepted_at  BIGINT
);
CREATE INDEX invitations_invitee ON invitations (invitee_id);
