//! Settings a reload cannot apply: they were used once, at start, to open
//! listeners, size runtimes, connect the user store and Redis, build the
//! password hasher or install the log subscriber.
//!
//! [`keep_running_values`] copies those settings from the config in force into
//! the freshly loaded one, so the new generation describes what the process
//! really runs with, and names every key whose value the file changed: the
//! reloader logs them as "needs a restart". Everything else in the file
//! (routes, roles, upstreams, keys, identity headers, auth prefix, limits…)
//! takes effect with the new generation, and so does a renewed listener
//! certificate: new content in the same `listen.tls` files.

use crate::config::Config;

/// Overwrites the restart-only settings of `next` with those of `running` and
/// returns the YAML names of the ones that differed, in file order.
pub fn keep_running_values(running: &Config, next: &mut Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut keep = |name: &'static str, differs: bool| {
        if differs {
            changed.push(name);
        }
    };

    let (old, new) = (&running.server, &mut next.server);
    keep("server.threads", old.threads != new.threads);
    keep("server.work_stealing", old.work_stealing != new.work_stealing);
    keep("server.upstream_keepalive_pool", old.upstream_keepalive_pool != new.upstream_keepalive_pool);
    keep("server.graceful_shutdown_timeout", old.graceful_shutdown_timeout != new.graceful_shutdown_timeout);
    new.threads = old.threads;
    new.work_stealing = old.work_stealing;
    new.upstream_keepalive_pool = old.upstream_keepalive_pool;
    new.graceful_shutdown_timeout = old.graceful_shutdown_timeout;

    let (old, new) = (&running.listen, &mut next.listen);
    let tls_files = |l: &crate::config::ListenSettings| l.tls.as_ref().map(|t| (t.cert.clone(), t.key.clone()));
    keep("listen.proxy", old.proxy != new.proxy);
    keep("listen.admin", old.admin != new.admin);
    keep("listen.tls", tls_files(old) != tls_files(new));
    keep("listen.h2c", old.h2c != new.h2c);
    // The same certificate files: what they hold now (a renewal) serves.
    let renewed = new.tls.as_ref().filter(|_| tls_files(old) == tls_files(new)).map(|tls| tls.certified.clone());
    *new = old.clone();
    if let (Some(tls), Some(certified)) = (new.tls.as_mut(), renewed) {
        tls.certified = certified;
    }

    let (old, new) = (&running.database, &mut next.database);
    keep("database.url", old.url != new.url);
    keep("database.max_connections", old.max_connections != new.max_connections);
    keep("database.migrate_on_start", old.migrate_on_start != new.migrate_on_start);
    *new = old.clone();

    let (old, new) = (&running.auth, &mut next.auth);
    keep("auth.password.max_length", old.password_max_length != new.password_max_length);
    keep("auth.password.argon2", old.argon2 != new.argon2);
    new.password_max_length = old.password_max_length;
    new.argon2 = old.argon2;

    keep("redis", running.redis != next.redis);
    next.redis = running.redis.clone();

    let (old, new) = (&running.logging, &mut next.logging);
    keep("logging.level", old.level != new.level);
    keep("logging.format", old.json != new.json);
    new.level = old.level.clone();
    new.json = old.json;

    changed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;
    use crate::config::load_str;

    const BASE: &str = r#"
server: { threads: 2, trusted_proxies: [127.0.0.1/32] }
listen: { proxy: 127.0.0.1:8080, admin: 127.0.0.1:9901 }
upstreams:
  shop: { servers: [127.0.0.1:9000] }
database: { url: "sqlite::memory:", max_connections: 4 }
tokens: { algorithm: HS256, signing_key: "reload-test-key-0123456789abcdef0123456789abcdef" }
auth: { prefix: /auth }
logging: { level: info, access_log: false }
roles: [ADMIN, CUSTOMER]
routes:
  - name: admin
    match: { path: /api/admin/** }
    allow: [ADMIN]
    upstream: shop
"#;

    fn load(text: &str) -> Config {
        load_str(Path::new("gateway.yaml"), text, &|_| None).unwrap()
    }

    #[test]
    fn a_policy_only_change_names_nothing() {
        let running = load(BASE);
        let mut next = load(&BASE.replace("allow: [ADMIN]", "allow: public"));
        assert!(keep_running_values(&running, &mut next).is_empty());
    }

    #[test]
    fn restart_only_keys_are_named_and_keep_their_running_values() {
        let running = load(BASE);
        let edited = BASE
            .replace("threads: 2", "threads: 4")
            .replace("proxy: 127.0.0.1:8080", "proxy: 127.0.0.1:8081")
            .replace("max_connections: 4", "max_connections: 9")
            .replace("level: info", "level: debug");
        let mut next = load(&edited);
        let changed = keep_running_values(&running, &mut next);
        assert_eq!(
            changed,
            ["server.threads", "listen.proxy", "database.max_connections", "logging.level"]
        );
        assert_eq!(next.server.threads, 2);
        assert_eq!(next.listen.proxy.port(), 8080);
        assert_eq!(next.database.max_connections, 4);
        assert_eq!(next.logging.level, "info");
    }

    #[test]
    fn reloadable_settings_beside_restart_only_ones_take_the_new_value() {
        let running = load(BASE);
        let edited = BASE
            .replace("trusted_proxies: [127.0.0.1/32]", "trusted_proxies: [10.0.0.0/8]")
            .replace("prefix: /auth", "prefix: /identity")
            .replace("access_log: false", "access_log: true");
        let mut next = load(&edited);
        assert!(keep_running_values(&running, &mut next).is_empty());
        assert_eq!(next.server.trusted_proxies[0].to_string(), "10.0.0.0/8");
        assert_eq!(next.auth.prefix, "/identity");
        assert!(next.logging.access_log);
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_renewed_certificate_in_the_same_files_applies_and_other_files_wait_for_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let write_pair = |name: &str| {
            let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), ck.cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), ck.key_pair.serialize_pem()).unwrap();
            ck.cert.der().clone()
        };
        let with_tls = |name: &str| {
            let d = dir.path().display();
            BASE.replace("admin: 127.0.0.1:9901 }", &format!("admin: 127.0.0.1:9901, tls: {{ cert: {d}/{name}.pem, key: {d}/{name}.key }} }}"))
        };
        let served = |config: &Config| config.listen.tls.as_ref().unwrap().certified.cert[0].clone();
        let first = write_pair("gw");
        let running = load(&with_tls("gw"));
        assert_eq!(served(&running), first);

        let renewed = write_pair("gw");
        let mut next = load(&with_tls("gw"));
        assert!(keep_running_values(&running, &mut next).is_empty());
        assert_eq!(served(&next), renewed);

        write_pair("other");
        let mut moved = load(&with_tls("other"));
        assert_eq!(keep_running_values(&running, &mut moved), ["listen.tls"]);
        assert_eq!(served(&moved), first, "new paths need a restart: the running pair stays");
    }
}
