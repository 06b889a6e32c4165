-- Instances this server refuses to federate with (admin CLI; federation.blocked_instances in
-- the config adds more). A domain blocks its subdomains too.
CREATE TABLE instance_blocks (
    domain     TEXT   PRIMARY KEY,
    reason     TEXT,
    created_at BIGINT NOT NULL
);
