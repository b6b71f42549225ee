-- Revocation points move from seconds to milliseconds: a token's issue time
-- is known to the millisecond (its jti), so a change revokes every token
-- issued before it, in the same second too. Existing points keep their
-- meaning (the start of their second). Guarded: a value already in
-- milliseconds (after the year 5138 in seconds) is left alone.
UPDATE users SET revoked_after = revoked_after * 1000
    WHERE revoked_after > 0 AND revoked_after < 100000000000;
