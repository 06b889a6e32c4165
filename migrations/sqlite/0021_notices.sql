-- Notices to local people (issue #6): today, that a community they belong to handed its
-- facilitator role on (a rotation), on this instance or on the community's own.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notices_by_person ON notices (person_id, id);
