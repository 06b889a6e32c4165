-- Private (members-only) communities (issue #6): the profile stays public, but posts,
-- replies and their activities reach and are shown to accepted members only; a signed fetch
-- by an instance with a member is needed for its objects. For a remote community, what its
-- Group says (Guildhall's `membersOnly`, else Lemmy's `manuallyApprovesFollowers`).
ALTER TABLE communities ADD COLUMN members_only BIGINT NOT NULL DEFAULT 0;

-- What software each remote instance runs, from its NodeInfo, so that a private community
-- admits members only from software that keeps its posts private.
CREATE TABLE instance_software (
    domain TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    fetched_at BIGINT NOT NULL
);
