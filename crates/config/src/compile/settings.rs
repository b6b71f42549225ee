//! Compiling `database:`, `auth:`, `identity_headers:` and `logging:`.

use http::header::HeaderName;

use super::Compiler;
use crate::raw;
use crate::{Argon2Params, AuthSettings, DatabaseSettings, IdentityHeaders, LoggingSettings, RateLimit, RedisSettings};
use nexora_policy::Roles;

/// Passwords longer than this (bytes) are refused before hashing by default.
const DEFAULT_PASSWORD_MAX: usize = 4096;

/// Headers an identity header may never be: the gateway or HTTP itself owns them.
const RESERVED_HEADERS: &[&str] = &[
    "authorization", "host", "content-length", "transfer-encoding", "connection", "upgrade",
    "te", "trailer", "keep-alive", "proxy-authorization", "cookie", "x-request-id",
    "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
];

impl Compiler<'_> {
    pub(super) fn database(&mut self, raw: Option<raw::Database>) -> Option<DatabaseSettings> {
        let (url, max_connections, migrate_on_start) = match raw {
            Some(raw::Database { url, max_connections, migrate_on_start }) => {
                (url.map(|u| u.expose_secret().to_owned()), max_connections, migrate_on_start)
            }
            None => (None, None, None),
        };
        let url = url.unwrap_or_else(|| "sqlite://data/nexora.db".to_owned());
        if !(url.starts_with("sqlite:") || url.starts_with("mysql:") || url.starts_with("mariadb:")) {
            // Never echo the URL: it may carry a password.
            self.error("database.url", "must start with sqlite: or mysql: (mariadb: is accepted as mysql:)");
        }
        let max_connections = max_connections.unwrap_or(16);
        if max_connections == 0 {
            self.error("database.max_connections", "must be at least 1");
        }
        Some(DatabaseSettings { url, max_connections, migrate_on_start: migrate_on_start.unwrap_or(true) })
    }

    pub(super) fn auth(&mut self, raw: Option<raw::Auth>, roles: &Roles) -> Option<AuthSettings> {
        let raw::Auth { prefix, self_register_roles, password, rate_limit } =
            raw.unwrap_or(raw::Auth { prefix: None, self_register_roles: None, password: None, rate_limit: None });
        let prefix = prefix.unwrap_or_else(|| "/auth".to_owned());
        if !prefix.starts_with('/') || prefix.len() < 2 || prefix.ends_with('/') {
            self.error("auth.prefix", "must start with / and not end with / (e.g. /auth)");
        }
        let self_register = self_register_roles.unwrap_or_else(|| vec!["CUSTOMER".to_owned()]);
        for (i, role) in self_register.iter().enumerate() {
            let at = format!("auth.self_register_roles[{i}]");
            if roles.id(role).is_none() {
                self.error(&at, format!("unknown role {role:?} (roles: {})", roles.names().join(", ")));
            } else if role == "ADMIN" {
                self.error(&at, "ADMIN can never be self-registered: an ADMIN creates ADMIN accounts");
            }
        }
        let (min, max, argon2) = match password {
            Some(raw::Password { min_length, max_length, argon2 }) => (min_length, max_length, argon2),
            None => (None, None, None),
        };
        let argon2 = self.argon2(argon2);
        let min = min.unwrap_or(8);
        let max = max.unwrap_or(DEFAULT_PASSWORD_MAX);
        if min == 0 || min > max || max > 65_536 {
            self.error("auth.password", "needs 1 <= min_length <= max_length <= 65536");
        }
        let rate_limit = self.rate_limit(rate_limit);
        Some(AuthSettings {
            prefix,
            self_register_roles: self_register,
            password_min_length: min,
            password_max_length: max,
            argon2,
            rate_limit,
        })
    }

    /// `Some(None)` without a `redis:` section; `None` when it has errors.
    pub(super) fn redis(&mut self, raw: Option<raw::Redis>) -> Option<Option<RedisSettings>> {
        let Some(raw::Redis { url, key_prefix, timeout }) = raw else { return Some(None) };
        let errors_before = self.errors.len();
        match url.split_once("://") {
            Some(("redis", rest)) if !rest.is_empty() => {}
            Some(("rediss", _)) => self.error("redis.url", "rediss:// (TLS) is not supported: use redis:// on a private network or a local TLS tunnel"),
            _ => self.error("redis.url", format!("{url:?} is not a redis://HOST:PORT/DB address")),
        }
        let key_prefix = key_prefix.unwrap_or_else(|| "nexora:".to_owned());
        if key_prefix.is_empty() || key_prefix.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            self.error("redis.key_prefix", "must be non-empty, without spaces or control characters");
        }
        let timeout = self.duration("redis.timeout", timeout.as_deref(), "25ms")?;
        if timeout.is_zero() || timeout > std::time::Duration::from_secs(5) {
            self.error("redis.timeout", "must be more than 0s and at most 5s: a slow Redis must not hold logins");
        }
        (self.errors.len() == errors_before).then_some(Some(RedisSettings { url, key_prefix, timeout }))
    }

    fn argon2(&mut self, raw: Option<raw::Argon2>) -> Argon2Params {
        let default = Argon2Params::default();
        let Some(raw::Argon2 { memory_kib, iterations, parallelism }) = raw else {
            return default;
        };
        let params = Argon2Params {
            memory_kib: memory_kib.unwrap_or(default.memory_kib),
            iterations: iterations.unwrap_or(default.iterations),
            parallelism: parallelism.unwrap_or(default.parallelism),
        };
        if let Err(e) = params.check() {
            self.error("auth.password.argon2", format!("invalid argon2 parameters (fix auth.password.argon2): {e}"));
        }
        params
    }

    fn rate_limit(&mut self, raw: Option<raw::RateLimit>) -> RateLimit {
        let default = RateLimit::default();
        let (max_attempts, window) = match raw {
            Some(raw::RateLimit { max_attempts, window }) => (max_attempts, window),
            None => (None, None),
        };
        let max_attempts = max_attempts.unwrap_or(default.max_attempts);
        if max_attempts == 0 {
            self.error("auth.rate_limit.max_attempts", "must be at least 1");
        }
        let window = self
            .duration("auth.rate_limit.window", window.as_deref(), "1m")
            .unwrap_or(default.window);
        if window.is_zero() {
            self.error("auth.rate_limit.window", "must be more than 0s");
        }
        RateLimit { max_attempts, window }
    }

    pub(super) fn identity_headers(&mut self, raw: Option<raw::IdentityHeaders>) -> Option<IdentityHeaders> {
        let (user_id, username, role) = match raw {
            Some(raw::IdentityHeaders { user_id, username, role }) => (user_id, username, role),
            None => (None, None, None),
        };
        let user_id = user_id.as_deref().unwrap_or("X-User-Id");
        let username = username.as_deref().unwrap_or("X-Username");
        let role = role.as_deref().unwrap_or("X-User-Role");
        // All three are checked before giving up, so every error is reported.
        let checked = [
            self.header_name("identity_headers.user_id", user_id),
            self.header_name("identity_headers.username", username),
            self.header_name("identity_headers.role", role),
        ];
        let [Some(a), Some(b), Some(c)] = checked else { return None };
        if a == b || a == c || b == c {
            self.error("identity_headers", "the three header names must differ");
        }
        // Each name was just checked, so this cannot fail.
        IdentityHeaders::new(user_id, username, role).ok()
    }

    pub(super) fn header_name(&mut self, yaml_path: &str, text: &str) -> Option<HeaderName> {
        match HeaderName::from_bytes(text.as_bytes()) {
            Ok(name) if RESERVED_HEADERS.contains(&name.as_str()) => {
                self.error(yaml_path, format!("{text:?} is a header the gateway or HTTP itself owns"));
                None
            }
            Ok(name) if name.as_str().bytes().any(|b| !(b.is_ascii_alphanumeric() || b == b'-')) => {
                self.error(yaml_path, "use letters, digits and '-' only (names with '_' or '.' are aliased by some backends)");
                None
            }
            Ok(name) => Some(name),
            Err(_) => {
                self.error(yaml_path, format!("{text:?} is not a valid header name"));
                None
            }
        }
    }

    pub(super) fn logging(&mut self, raw: Option<raw::Logging>) -> Option<LoggingSettings> {
        let (level, format, access_log) = match raw {
            Some(raw::Logging { level, format, access_log }) => (level, format, access_log),
            None => (None, None, None),
        };
        let level = level.unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&level).is_err() {
            self.error("logging.level", format!("{level:?} is not a log filter (e.g. info, or info,nexora_gate=debug)"));
        }
        Some(LoggingSettings {
            level,
            json: format == Some(raw::LogFormat::Json),
            access_log: access_log.unwrap_or(true),
        })
    }
}
