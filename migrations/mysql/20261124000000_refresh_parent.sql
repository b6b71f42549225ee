-- Rotation in one statement: a rotated refresh token records the jti it replaced.
-- The UNIQUE index is what lets exactly one of any number of racing rotations of the
-- same token succeed (the others fail on the duplicate parent and are classified as
-- reuse), so rotating needs no transaction and no prior SELECT. NULL for the first
-- token of a family; UNIQUE ignores NULLs.
ALTER TABLE refresh_tokens
    ADD COLUMN parent_jti VARBINARY(32) NULL,
    ADD UNIQUE KEY refresh_tokens_parent (parent_jti);
