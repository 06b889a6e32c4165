-- The inbound queue (issue #4, decision 0006): an activity whose signature checked out is
-- stored here before we answer, then processed by a worker. A row is deleted when its
-- processing ends (its id then goes to `received_activities` if it had an effect); a row
-- left by a crash is taken up again when its lease runs out.
CREATE TABLE inbox_queue (
    id              INTEGER PRIMARY KEY,
    ap_id           TEXT    NOT NULL UNIQUE,
    actor           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    received_at     BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 1,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT  NOT NULL,
    last_error      TEXT
);
-- Workers look for rows whose attempt is due and whose lease has run out.
CREATE INDEX inbox_queue_due ON inbox_queue (next_attempt_at);
