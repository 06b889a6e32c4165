-- Guidelines accepted before joining, and gentle limits for newcomers (issue #6).
-- guidelines_required: joining from this instance needs an explicit acceptance of the
-- community's guidelines, recorded in community_followers.guidelines_accepted_at.
-- newcomer_limits: during their first week and first three posts, members post no links.
-- modlog_anonymous: the public moderation log names "a moderator" instead of the person.
ALTER TABLE communities ADD COLUMN guidelines_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE communities ADD COLUMN newcomer_limits BIGINT NOT NULL DEFAULT 0;
ALTER TABLE communities ADD COLUMN modlog_anonymous BIGINT NOT NULL DEFAULT 0;
ALTER TABLE community_followers ADD COLUMN guidelines_accepted_at BIGINT;
