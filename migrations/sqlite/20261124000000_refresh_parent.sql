-- Rotation in one statement: a rotated refresh token records the jti it replaced.
-- The UNIQUE index is what lets exactly one of any number of racing rotations of the
-- same token succeed (the others fail on the duplicate parent and are classified as
-- reuse), so rotating needs no transaction and no prior SELECT. NULL for the first
-- token of a family; UNIQUE ignores NULLs.
ALTER TABLE refresh_tokens
    ADD COLUMN parent_jti TEXT NULL COLLATE BINARY CHECK (parent_jti IS NULL OR length(CAST(parent_jti AS BLOB)) <= 32);
CREATE UNIQUE INDEX refresh_tokens_parent ON refresh_tokens (parent_jti);
