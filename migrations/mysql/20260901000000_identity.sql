-- Users and refresh tokens (MySQL 8 / MariaDB 10.6+), InnoDB and utf8mb4 throughout.
--
-- The canonical columns are VARBINARY: byte-exact and NO PAD on both servers
-- (utf8mb4_bin is still PAD SPACE, so 'admin' = 'admin ' under it; utf8mb4_nopad_bin
-- exists only on MariaDB and utf8mb4_0900_bin only on MySQL 8). The application
-- canonicalises usernames and emails before every insert and lookup; these unique
-- indexes only confirm what the code decided. 600 / 1016 bytes = 150 / 254 characters
-- of up to 4 bytes. Display columns are utf8mb4_bin: no collation ever folds case,
-- accents or trailing spaces behind the code's back.

CREATE TABLE users (
    id                 BIGINT       NOT NULL AUTO_INCREMENT,
    username           VARCHAR(150) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    username_canonical VARBINARY(600) NOT NULL,
    email              VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    -- NULL when the user has no email: UNIQUE ignores NULLs.
    email_canonical    VARBINARY(1016) NULL,
    password_hash      VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    role               VARCHAR(20)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'CUSTOMER',
    phone              VARCHAR(20)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    address            TEXT         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    is_active          BOOLEAN      NOT NULL DEFAULT TRUE,
    date_joined        DATETIME(6)  NOT NULL,
    last_login         DATETIME(6)  NULL,
    -- Unix seconds; access tokens issued before it are refused. 0 = never.
    revoked_after      BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY users_username_canonical (username_canonical),
    UNIQUE KEY users_email_canonical (email_canonical),
    KEY users_revoked_after (revoked_after)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Only the jti of a refresh token is stored, never the token itself. VARBINARY for the
-- same reason as above: 'abc' and 'abc ' are different jtis.
CREATE TABLE refresh_tokens (
    jti        VARBINARY(32) NOT NULL,
    user_id    BIGINT      NOT NULL,
    family_id  VARBINARY(32) NOT NULL,
    expires_at BIGINT      NOT NULL,
    used_at    BIGINT      NULL,
    revoked    BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at BIGINT      NOT NULL,
    PRIMARY KEY (jti),
    KEY refresh_tokens_family (family_id),
    KEY refresh_tokens_user (user_id),
    KEY refresh_tokens_expires (expires_at),
    CONSTRAINT refresh_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
