-- Fan-out off the request path (issue #4): accepting an activity in a local community
-- writes one row here instead of one delivery per follower inbox; the delivery workers
-- expand it (one INSERT … SELECT over the followers) into `deliveries` and delete it.
CREATE TABLE fanouts (
    id           INTEGER PRIMARY KEY,
    activity_id  BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    signer       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL
);
-- The delivery queue is read in (next_attempt_at, id) order by the claim.
CREATE INDEX deliveries_due_order ON deliveries (next_attempt_at, id);
