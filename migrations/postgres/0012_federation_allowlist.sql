-- Allow-list federation (issue #6): in `allowlist` mode this server federates only with the
-- domains listed here (subdomains included) and in federation.allowed_instances; blocks
-- still apply on top.
CREATE TABLE instance_allows (
    domain     TEXT   PRIMARY KEY,
    reason     TEXT,
    created_at BIGINT NOT NULL
);
-- Federation settings that admins change at run time (key `mode`: open | allowlist). A key
-- absent here takes its value from the config file.
CREATE TABLE federation_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
