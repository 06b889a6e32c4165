-- Activities the inbox refused (issue 12 §4), for the admins: which instance, what it sent,
-- why it was refused, when. Bounded: each insert keeps the newest rows of its instance and
-- of the whole table (store::refused); the inbox writes at most one row per instance and
-- reason a second. `domain` is the one the activity names (its actor's host, else its id's):
-- unverified when the reason is a signature's.
CREATE TABLE refused_activities (
    id          INTEGER PRIMARY KEY,
    domain      TEXT    NOT NULL,
    kind        TEXT,
    actor       TEXT,
    activity_id TEXT,
    status      BIGINT  NOT NULL,
    code        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX refused_activities_by_domain ON refused_activities (domain, id);
