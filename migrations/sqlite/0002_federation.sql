-- Group federation: posts and replies, votes, the activities we emit, inbound activity ids
-- (deduplication) and the durable delivery queue.

-- Any non-Group actor is a row of people: Person, Service, Application (instance actors).
ALTER TABLE people ADD COLUMN actor_type TEXT NOT NULL DEFAULT 'Person';

-- Collections of remote communities, for backfill and moderation.
ALTER TABLE communities ADD COLUMN outbox_url TEXT;
ALTER TABLE communities ADD COLUMN moderators_url TEXT;
ALTER TABLE communities ADD COLUMN featured_url TEXT;

-- Posts (root_id NULL) and replies (root_id = the post, parent_id = what it answers).
CREATE TABLE posts (
    id            INTEGER PRIMARY KEY,
    ap_id         TEXT    NOT NULL UNIQUE,
    community_id  BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    author_id     BIGINT  NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    parent_id     BIGINT  REFERENCES posts (id) ON DELETE CASCADE,
    root_id       BIGINT  REFERENCES posts (id) ON DELETE CASCADE,
    depth         BIGINT  NOT NULL,
    kind          TEXT    NOT NULL,
    title         TEXT,
    content_html  TEXT    NOT NULL,
    source        TEXT,
    url           TEXT,
    sensitive     INTEGER NOT NULL,
    local         INTEGER NOT NULL,
    published     BIGINT  NOT NULL,
    updated       BIGINT,
    deleted       INTEGER NOT NULL,
    removed       INTEGER NOT NULL,
    score         BIGINT  NOT NULL,
    upvotes       BIGINT  NOT NULL,
    downvotes     BIGINT  NOT NULL,
    reply_count   BIGINT  NOT NULL,
    last_activity BIGINT  NOT NULL
);
CREATE INDEX posts_community_new ON posts (community_id, published);
CREATE INDEX posts_root ON posts (root_id, published);
CREATE INDEX posts_parent ON posts (parent_id);
CREATE INDEX posts_author ON posts (author_id);

-- One vote per person per post or reply: +1 (Like) or -1 (Dislike).
CREATE TABLE votes (
    post_id     BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    person_id   BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    value       BIGINT NOT NULL CHECK (value IN (-1, 1)),
    activity_id TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (post_id, person_id)
);

-- Ids of accepted inbound activities: a replay has no second effect.
CREATE TABLE received_activities (
    ap_id       TEXT   PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX received_activities_at ON received_activities (received_at);

-- Activities this instance emitted: served at their ids and in outboxes.
CREATE TABLE activities (
    id           INTEGER PRIMARY KEY,
    ap_id        TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    community_id BIGINT  REFERENCES communities (id) ON DELETE CASCADE,
    json         TEXT    NOT NULL,
    in_outbox    INTEGER NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX activities_outbox ON activities (community_id, in_outbox, id);

-- The durable delivery queue: one row per (activity, inbox), written in the same
-- transaction as the change it announces; deleted once delivered.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    activity_id     BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    inbox           TEXT   NOT NULL,
    signer          TEXT   NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at);
