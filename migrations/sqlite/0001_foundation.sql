-- Foundation schema: the instance actor, people (local and remote), local accounts and
-- sessions, communities (Group actors), their topics, roles and followers.
-- Times are Unix epoch milliseconds and flags are 0/1 integers, so one SQL text (through
-- sqlx::Any) serves SQLite and PostgreSQL; see docs/decisions/0001-one-sql-text.md.

-- The instance actor (FEP-2677): one row, created on first start.
CREATE TABLE instance_actor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    public_key  TEXT    NOT NULL,
    private_key TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- One namespace for local users and local communities: a name is taken once, whatever
-- kind of actor holds it (WebFinger acct:name@host must be unambiguous, Lemmy #4201).
CREATE TABLE local_names (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'community'))
);

-- Person actors, local (with a private key) and remote (cached).
CREATE TABLE people (
    id           INTEGER PRIMARY KEY,
    ap_id        TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    display_name TEXT,
    bio_html     TEXT,
    bio_source   TEXT,
    local        INTEGER NOT NULL,
    inbox        TEXT    NOT NULL,
    shared_inbox TEXT,
    public_key   TEXT    NOT NULL,
    private_key  TEXT,
    published    BIGINT  NOT NULL,
    updated      BIGINT,
    last_fetched BIGINT  NOT NULL
);
CREATE INDEX people_name ON people (name);

-- Login data of local people only.
CREATE TABLE accounts (
    person_id     BIGINT  PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    password_hash TEXT    NOT NULL,
    email         TEXT    UNIQUE,
    is_admin      INTEGER NOT NULL,
    approved      INTEGER NOT NULL,
    apply_reason  TEXT,
    created_at    BIGINT  NOT NULL
);

-- Bearer tokens; only the SHA-256 of a token is stored.
CREATE TABLE sessions (
    token_hash   TEXT   PRIMARY KEY,
    person_id    BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX sessions_person ON sessions (person_id);

-- Group actors, local and remote.
CREATE TABLE communities (
    id                         INTEGER PRIMARY KEY,
    ap_id                      TEXT    NOT NULL UNIQUE,
    name                       TEXT    NOT NULL,
    title                      TEXT    NOT NULL,
    summary_source             TEXT    NOT NULL,
    summary_html               TEXT    NOT NULL,
    guidelines_source          TEXT    NOT NULL,
    guidelines_html            TEXT    NOT NULL,
    local                      INTEGER NOT NULL,
    inbox                      TEXT    NOT NULL,
    shared_inbox               TEXT,
    followers_url              TEXT,
    public_key                 TEXT    NOT NULL,
    private_key                TEXT,
    posting_restricted_to_mods INTEGER NOT NULL,
    sensitive                  INTEGER NOT NULL,
    published                  BIGINT  NOT NULL,
    updated                    BIGINT,
    last_fetched               BIGINT  NOT NULL
);
CREATE INDEX communities_name ON communities (name);

-- Topics (tags) a community practises.
CREATE TABLE community_topics (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    topic        TEXT   NOT NULL,
    PRIMARY KEY (community_id, topic)
);

-- Roles of people in communities. 'owner' and 'moderator' now; the governance issue adds more.
CREATE TABLE community_roles (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    person_id    BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (community_id, person_id, role)
);
CREATE INDEX community_roles_person ON community_roles (person_id);

-- Followers of communities (local and remote people); 'pending' until accepted.
CREATE TABLE community_followers (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    person_id    BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    state        TEXT   NOT NULL CHECK (state IN ('pending', 'accepted')),
    follow_id    TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (community_id, person_id)
);
CREATE INDEX community_followers_person ON community_followers (person_id);
