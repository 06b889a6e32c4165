-- Delivery health of each remote instance (host[:port]): a long failure streak marks it
-- dead and its deliveries are dropped until it contacts us again or an admin revives it.
CREATE TABLE instance_health (
    domain        TEXT   PRIMARY KEY,
    last_success  BIGINT,
    first_failure BIGINT,
    failures      BIGINT NOT NULL,
    last_error    TEXT,
    dead          BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
