-- Leadership models (issue #6): 'hierarchical' (owner over moderators over members),
-- 'shared' (co-leads with equal powers; adding or removing one, or changing the model,
-- needs a second co-lead's approval: `proposals`), 'rotational' (the facilitator role
-- passes along `roster` every term_secs; term_ends_at is when the current term ends).
ALTER TABLE communities ADD COLUMN leadership TEXT NOT NULL DEFAULT 'hierarchical';
ALTER TABLE communities ADD COLUMN term_secs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE communities ADD COLUMN term_ends_at BIGINT;
-- A rotational community's roster, in turn order.
CREATE TABLE roster (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    person_id    BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    PRIMARY KEY (community_id, person_id)
);
-- Changes a co-lead proposed in a shared-leadership community, until another decides.
CREATE TABLE proposals (
    id           INTEGER PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    action       TEXT   NOT NULL,
    person_id    BIGINT REFERENCES people (id) ON DELETE CASCADE,
    value        TEXT,
    proposed_by  BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    status       TEXT   NOT NULL DEFAULT 'open',
    decided_by   BIGINT REFERENCES people (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    decided_at   BIGINT
);
CREATE INDEX proposals_community ON proposals (community_id, status);
