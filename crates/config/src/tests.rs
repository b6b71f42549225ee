//! `parse_str` / `parse_file` end to end: YAML in, `RawConfig` or `FILE:LINE:COL` lines out.

use std::collections::BTreeMap;
use std::path::Path;

use super::raw::*;
use super::*;

const CONTRACT: &str = include_str!("testdata/contract.yaml");
const SIGNING_KEY: &str = "a-signing-key-of-at-least-32-bytes!";

fn env(name: &str) -> Option<String> {
    let value = match name {
        "NEXORA_SIGNING_KEY" => SIGNING_KEY,
        "LONG_HOST" => "a-rather-long-host-name.internal",
        "H" => "h",
        "DB_PASSWORD" => "hunter2",
        _ => return None,
    };
    Some(value.to_owned())
}

fn parse(text: &str) -> Result<(RawConfig, Source), ConfigErrors> {
    parse_str(Path::new("gw.yaml"), text, &env)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn contract_example_parses_every_key() {
    // NEXORA_DB_PASSWORD is only referenced in a comment, so it need not be set.
    let (raw, _) = parse(CONTRACT).expect("the reference example (testdata/contract.yaml) is valid");
    let shop = Upstream {
        servers: strings(&["127.0.0.1:9000"]),
        health_check: Some(HealthCheck {
            path: "/healthz".into(),
            interval: "5s".into(),
            timeout: None,
        }),
        connect_timeout: None,
        read_timeout: None,
        tls: None,
        dns_refresh: None,
        protocol: None,
    };
    let route = |name: &str, path: &str, methods: Option<&[&str]>, allow: Allow| Route {
        name: name.into(),
        r#match: Match {
            path: path.into(),
            methods: methods.map(strings),
            host: None,
        },
        allow,
        owner: None,
        upstream: Some("shop".into()),
        mode: None,
        scopes: None,
        audience: None,
    };
    let expected = RawConfig {
        server: Some(Server {
            threads: Some(2),
            trusted_proxies: Some(strings(&["127.0.0.1/32"])),
            work_stealing: None,
            upstream_keepalive_pool: None,
            fast_lane: None,
            request_header_timeout: None,
            request_body_timeout: None,
            keepalive_timeout: None,
            grace_period: None,
            graceful_shutdown_timeout: None,
        }),
        listen: Listen {
            proxy: "0.0.0.0:8080".into(),
            admin: Some("127.0.0.1:9901".into()),
            tls: None,
            h2c: None,
        },
        upstreams: BTreeMap::from([("shop".to_owned(), shop)]),
        database: Some(Database {
            url: Some(Secret::new("sqlite://data/nexora.db")),
            max_connections: Some(16),
            migrate_on_start: None,
        }),
        tokens: Tokens {
            algorithm: Algorithm::HS256,
            signing_key: Some(Secret::new(SIGNING_KEY)),
            private_key_file: None,
            public_key_file: None,
            kid: None,
            previous_keys: None,
            access_ttl: Some("60m".into()),
            refresh_ttl: Some("7d".into()),
            leeway: Some("30s".into()),
            issuer: Some("nexora".into()),
            audience: Some("nexora-api".into()),
            rotate_refresh: Some(true),
            revocation_poll: None,
            cache: Some(TokenCache {
                max_entries: Some(100_000),
            }),
        },
        auth: Some(Auth {
            prefix: Some("/auth".into()),
            self_register_roles: Some(strings(&["CUSTOMER"])),
            password: Some(Password {
                min_length: Some(8),
                max_length: None,
                argon2: None,
            }),
            rate_limit: None,
        }),
        identity_headers: Some(raw::IdentityHeaders {
            user_id: Some("X-User-Id".into()),
            username: Some("X-Username".into()),
            role: Some("X-User-Role".into()),
        }),
        forward_authorization: Some(true),
        roles: strings(&["ADMIN", "SELLER", "CUSTOMER"]),
        routes: vec![
            route(
                "catalogue",
                "/api/products/**",
                Some(&["GET", "HEAD"]),
                Allow::Public,
            ),
            route(
                "seller-area",
                "/api/seller/**",
                None,
                Allow::Roles(strings(&["SELLER", "ADMIN"])),
            ),
            route(
                "admin-area",
                "/api/admin/**",
                None,
                Allow::Roles(strings(&["ADMIN"])),
            ),
            route(
                "order-by-id",
                "/api/orders/{id}",
                Some(&["GET"]),
                Allow::Authenticated,
            ),
            Route {
                owner: Some("user_id".into()),
                ..route(
                    "own-mailbox",
                    "/api/users/{user_id}/mail/**",
                    None,
                    Allow::Roles(strings(&["ADMIN"])),
                )
            },
        ],
        default: Some(DefaultDecision::Deny),
        default_upstream: None,
        tests: Some(vec![
            PolicyTest {
                request: "GET /api/admin/users".into(),
                role: Some("SELLER".into()),
                anonymous: None,
                host: None,
                scopes: None,
                audience: None,
                expect: Expectation::Deny,
            },
            PolicyTest {
                request: "GET /api/products/42".into(),
                role: None,
                anonymous: Some(true),
                host: None,
                scopes: None,
                audience: None,
                expect: Expectation::Allow,
            },
        ]),
        logging: None,
        shadow: None,
        redis: None,
        issuers: None,
    };
    assert_eq!(raw, expected);
}

#[test]
fn keys_beyond_the_contract_example_parse() {
    let text = "\
server:
  work_stealing: false
  upstream_keepalive_pool: 64
  grace_period: 30s
  graceful_shutdown_timeout: 10s
listen: { proxy: 0.0.0.0:8443, tls: { cert: certs/gw.pem, key: certs/gw.key } }
upstreams:
  shop:
    servers: [10.0.0.1:443, 10.0.0.2:443]
    health_check: { path: /healthz, interval: 5s, timeout: 1s }
    connect_timeout: 2s
    read_timeout: 30s
    tls: { sni: shop.internal, verify: true }
database: { migrate_on_start: true }
tokens:
  algorithm: EdDSA
  private_key_file: keys/ed25519.pem
  public_key_file: keys/ed25519.pub.pem
  kid: k2
  previous_keys:
    - { kid: k1, algorithm: HS256, signing_key: old-secret }
    - { kid: k0, public_key_file: keys/k0.pub.pem }
  revocation_poll: 2s
auth:
  password: { max_length: 64, argon2: { memory_kib: 65536, iterations: 3, parallelism: 2 } }
  rate_limit: { max_attempts: 10, window: 5m }
roles: [ADMIN]
routes:
  - { name: blocked, match: { path: /internal/**, host: api.example.com }, allow: deny }
default: authenticated
tests:
  - { request: GET /internal/x, host: api.example.com, role: ADMIN, expect: deny }
  - { request: GET /x, anonymous: true, expect: unauthenticated }
logging: { level: info, format: json }
";
    let (raw, _) = parse(text).expect("valid");
    let server = raw.server.expect("server");
    assert_eq!(
        (
            server.work_stealing,
            server.upstream_keepalive_pool,
            server.grace_period,
            server.graceful_shutdown_timeout
        ),
        (
            Some(false),
            Some(64),
            Some("30s".into()),
            Some("10s".into())
        )
    );
    let tls = raw.listen.tls.expect("listen.tls");
    assert_eq!(
        (tls.cert.as_str(), tls.key.as_str()),
        ("certs/gw.pem", "certs/gw.key")
    );
    let shop = &raw.upstreams["shop"];
    assert_eq!(
        shop.health_check
            .as_ref()
            .and_then(|h| h.timeout.as_deref()),
        Some("1s")
    );
    assert_eq!(
        (
            shop.connect_timeout.as_deref(),
            shop.read_timeout.as_deref()
        ),
        (Some("2s"), Some("30s"))
    );
    assert_eq!(
        shop.tls,
        Some(UpstreamTls {
            sni: "shop.internal".into(),
            verify: Some(true)
        })
    );
    assert_eq!(raw.database.and_then(|d| d.migrate_on_start), Some(true));
    assert_eq!(raw.tokens.algorithm, Algorithm::EdDSA);
    assert_eq!(
        raw.tokens.private_key_file.as_deref(),
        Some("keys/ed25519.pem")
    );
    assert_eq!(
        raw.tokens.public_key_file.as_deref(),
        Some("keys/ed25519.pub.pem")
    );
    assert_eq!(raw.tokens.kid.as_deref(), Some("k2"));
    assert_eq!(raw.tokens.revocation_poll.as_deref(), Some("2s"));
    assert_eq!(
        raw.tokens.previous_keys,
        Some(vec![
            PreviousKey {
                kid: "k1".into(),
                algorithm: Some(Algorithm::HS256),
                signing_key: Some(Secret::new("old-secret")),
                public_key_file: None,
            },
            PreviousKey {
                kid: "k0".into(),
                algorithm: None,
                signing_key: None,
                public_key_file: Some("keys/k0.pub.pem".into()),
            },
        ])
    );
    let auth = raw.auth.expect("auth");
    let password = auth.password.expect("password");
    assert_eq!(password.max_length, Some(64));
    assert_eq!(
        password.argon2,
        Some(Argon2 {
            memory_kib: Some(65536),
            iterations: Some(3),
            parallelism: Some(2)
        })
    );
    assert_eq!(
        auth.rate_limit,
        Some(raw::RateLimit {
            max_attempts: Some(10),
            window: Some("5m".into())
        })
    );
    assert_eq!(raw.routes[0].allow, Allow::Deny);
    assert_eq!(raw.routes[0].upstream, None);
    assert_eq!(
        raw.routes[0].r#match.host.as_deref(),
        Some("api.example.com")
    );
    assert_eq!(raw.default, Some(DefaultDecision::Authenticated));
    let tests = raw.tests.expect("tests");
    assert_eq!(tests[0].host.as_deref(), Some("api.example.com"));
    assert_eq!(tests[1].expect, Expectation::Unauthenticated);
    assert_eq!(
        raw.logging,
        Some(Logging {
            level: Some("info".into()),
            format: Some(LogFormat::Json),
            access_log: None,
        })
    );
}

/// The smallest valid file; error cases below each break one thing.
const MINIMAL: &str = "\
listen: { proxy: 0.0.0.0:8080 }
upstreams:
  shop: { servers: [127.0.0.1:9000] }
tokens: { algorithm: HS256, signing_key: k }
roles: [ADMIN]
routes:
  - { name: r, match: { path: /x }, allow: public, upstream: shop }
";

#[test]
fn allow_is_a_keyword_or_a_list_of_roles() {
    let expecting = "expected public, authenticated, deny, or a list of roles such as [ADMIN]";
    let cases: [(&str, Result<Allow, String>); 7] = [
        ("public", Ok(Allow::Public)),
        ("authenticated", Ok(Allow::Authenticated)),
        ("deny", Ok(Allow::Deny)),
        (
            "[SELLER, ADMIN]",
            Ok(Allow::Roles(strings(&["SELLER", "ADMIN"]))),
        ),
        ("[]", Ok(Allow::Roles(vec![]))),
        (
            "ADMIN",
            Err(format!(
                "gw.yaml:7:44: routes[0].allow: invalid value: string \"ADMIN\", {expecting}"
            )),
        ),
        (
            "true",
            Err(format!(
                "gw.yaml:7:44: routes[0].allow: invalid type: boolean `true`, {expecting}"
            )),
        ),
    ];
    for (allow, expected) in cases {
        let text = MINIMAL.replace("allow: public", &format!("allow: {allow}"));
        let got = parse(&text)
            .map(|(raw, _)| raw.routes[0].allow.clone())
            .map_err(|e| e.to_string());
        assert_eq!(got, expected, "{allow}");
    }
}

#[test]
fn errors_are_reported_with_file_line_and_column() {
    // (replace this, with that, in MINIMAL) → the expected lines, each a prefix of the error.
    let cases: &[(&str, &str, &[&str])] = &[
        // Unknown keys, at the top level and nested, point at the key.
        ("roles:", "colour: blue\nroles:", &["gw.yaml:5:1: unknown field `colour`, expected one of `server`, `listen`,"]),
        ("path: /x }", "path: /x, mthods: [GET] }", &["gw.yaml:7:35: routes[0].match: unknown field `mthods`, expected one of `path`, `methods`, `host`"]),
        ("servers: [127.0.0.1:9000] }", "servers: [127.0.0.1:9000], helth: {} }", &["gw.yaml:3:38: upstreams.shop: unknown field `helth`, expected one of `servers`,"]),
        // Wrong types point at the value.
        ("roles: [ADMIN]", "roles: ADMIN", &["gw.yaml:5:8: roles: invalid type: string \"ADMIN\", expected a sequence"]),
        ("listen:", "server: { threads: many }\nlisten:", &["gw.yaml:1:20: server.threads: invalid type: string \"many\", expected usize"]),
        ("algorithm: HS256", "algorithm: HS255", &["gw.yaml:4:22: tokens.algorithm: unknown variant `HS255`, expected one of `HS256`, `HS384`, `HS512`, `RS256`, `ES256`, `EdDSA`"]),
        // Missing keys point at the mapping that lacks them.
        ("match: { path: /x }, ", "", &["gw.yaml:7:5: routes[0]: missing field `match`"]),
        ("roles: [ADMIN]\n", "", &["gw.yaml:1:1: missing field `roles`"]),
        // Several problems in different sections are reported together, in file order.
        (
            "listen: { proxy: 0.0.0.0:8080 }\n",
            "server: { treads: 2 }\nlisten: { proxy: 0.0.0.0:8080 }\nlogging: { format: xml }\n",
            &[
                "gw.yaml:1:11: server: unknown field `treads`",
                "gw.yaml:3:20: logging.format: unknown variant `xml`, expected `json` or `text`",
            ],
        ),
        (
            "roles: [ADMIN]\n",
            "",
            &["gw.yaml:1:1: missing field `roles`"],
        ),
        (
            "roles: [ADMIN]\nroutes:\n  - { name: r, match: { path: /x }, allow: public, upstream: shop }\n",
            "routes: 3\nextra: 1\n",
            &[
                "gw.yaml:1:1: missing field `roles`",
                "gw.yaml:5:9: routes: invalid type: integer `3`, expected a sequence",
                "gw.yaml:6:1: unknown field `extra`",
            ],
        ),
        // Duplicate keys, including map keys serde_yaml would silently overwrite.
        ("roles: [ADMIN]\n", "roles: [ADMIN]\nroles: [ADMIN]\n", &["gw.yaml:6:1: roles: duplicate key (first written at line 5, column 1)"]),
        ("  shop: {", "  shop: { servers: [a:1] }\n  shop: {", &["gw.yaml:4:3: upstreams.shop: duplicate key (first written at line 3, column 3)"]),
        // Syntax errors come alone, at the problem.
        ("roles: [ADMIN]", "roles: [ADMIN", &["gw.yaml:6:7: did not find expected ',' or ']'"]),
    ];
    for (from, to, expected) in cases {
        let text = MINIMAL.replace(from, to);
        assert_ne!(text, MINIMAL, "{from:?} must occur in MINIMAL");
        let errors = parse(&text).expect_err(&text).to_string();
        let lines: Vec<&str> = errors.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{to:?}\n{errors}");
        for (line, prefix) in lines.iter().zip(*expected) {
            assert!(
                line.starts_with(prefix),
                "{to:?}\n  got: {line}\n want: {prefix}"
            );
        }
    }
}

#[test]
fn missing_sections_are_reported_once_at_the_first_key() {
    // Both the whole-document pass and the per-section pass notice the missing `roles`.
    let text = format!(
        "# leading comment\n\n{}",
        MINIMAL.replace("roles: [ADMIN]\n", "")
    );
    let errors = parse(&text).expect_err(&text).to_string();
    assert_eq!(errors, "gw.yaml:3:1: missing field `roles`");
}

#[test]
fn whole_file_problems() {
    let cases = [
        ("", "gw.yaml: no configuration found: the file is empty or only has comments"),
        ("# nothing yet\n", "gw.yaml: no configuration found: the file is empty or only has comments"),
        ("just text\n", "gw.yaml:1:1: invalid type: string \"just text\", expected a mapping of config sections"),
    ];
    for (text, expected) in cases {
        assert_eq!(
            parse(text).expect_err(text).to_string(),
            expected,
            "{text:?}"
        );
    }
}

#[test]
fn interpolation_errors_are_all_reported_and_stop_parsing() {
    // Two unset variables, and a YAML error that is not reported: the text is not what the
    // operator meant until the variables are set.
    let text = MINIMAL
        .replace("signing_key: k", "signing_key: ${SIGNING_KEY_UNSET}")
        .replace(
            "proxy: 0.0.0.0:8080",
            "proxy: \"${BIND_HOST}:${BIND_PORT}\", bogus: 1",
        )
        + "${H}: [\n";
    let errors = parse(&text).expect_err(&text).to_string();
    assert_eq!(
        errors,
        "gw.yaml:1:19: environment variable BIND_HOST is not set\n\
         gw.yaml:1:32: environment variable BIND_PORT is not set\n\
         gw.yaml:4:42: environment variable SIGNING_KEY_UNSET is not set"
    );
}

#[test]
fn positions_are_mapped_back_across_substitutions() {
    // `${LONG_HOST}` (12 characters) becomes 32 and `${H}` (4) becomes 1: the unknown key after
    // them is reported where it is in the file, not where it is in the interpolated text.
    let cases = [
        (
            "servers: [127.0.0.1:9000] }",
            "servers: [\"${LONG_HOST}:9000\"], colour: red }",
            "gw.yaml:3:43: upstreams.shop: unknown field `colour`",
        ),
        (
            "servers: [127.0.0.1:9000] }",
            "servers: [\"${H}:9000\", \"${H}:1\"], colour: red }",
            "gw.yaml:3:45: upstreams.shop: unknown field `colour`",
        ),
    ];
    for (from, to, expected) in cases {
        let text = MINIMAL.replace(from, to);
        let errors = parse(&text).expect_err(&text).to_string();
        assert!(
            errors.starts_with(expected),
            "got: {errors}\nwant: {expected}"
        );
    }
}

#[test]
fn errors_inside_a_substituted_value_point_at_the_reference_without_showing_the_value() {
    let text = MINIMAL.replace("listen:", "server: { threads: ${DB_PASSWORD} }\nlisten:");
    let errors = parse(&text).expect_err(&text).to_string();
    assert_eq!(
        errors,
        "gw.yaml:1:20: server.threads: invalid type: string ${DB_PASSWORD}, expected usize"
    );
}

#[test]
fn source_locates_paths_in_the_original_file() {
    let (_, source) = parse(CONTRACT).expect("valid");
    let cases = [
        ("routes[2].match.path", (56, 20)),
        ("routes[4].owner", (66, 12)),
        ("upstreams.shop.servers[0]", (12, 15)),
        ("upstreams.shop.health_check.interval", (13, 47)),
        // After a substitution of a different length: the `${` of the reference.
        ("tokens.signing_key", (22, 16)),
        ("tests[1].expect", (72, 65)),
        ("routes[9]", (47, 3)),
    ];
    for (path, (line, column)) in cases {
        assert_eq!(
            source.locate(path),
            Some(Location { line, column }),
            "{path}"
        );
    }
    assert_eq!(
        source
            .error_at("routes[2].allow", "unknown role \"admn\"")
            .to_string(),
        "gw.yaml:57:12: routes[2].allow: unknown role \"admn\""
    );
    assert_eq!(
        source
            .error_at_key("upstreams.shop", "never used")
            .to_string(),
        "gw.yaml:11:3: upstreams.shop: never used"
    );
    assert_eq!(
        source.error_at("", "whole").to_string(),
        "gw.yaml:1:1: whole"
    );
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let (raw, source) = parse(CONTRACT).expect("valid");
    let shown = format!("{raw:?} {source:?}");
    assert!(!shown.contains(SIGNING_KEY), "{shown}");
    assert!(!shown.contains("sqlite://data"), "{shown}");
    assert_eq!(
        raw.tokens.signing_key.map(|k| k.expose_secret().to_owned()),
        Some(SIGNING_KEY.into())
    );
}

#[test]
fn parse_file_reads_the_file_or_says_why_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, MINIMAL).expect("write");
    let (raw, source) = parse_file(&path).expect("valid");
    assert_eq!(raw.roles, ["ADMIN"]);
    assert_eq!(source.path, path);

    let missing = dir.path().join("missing.yaml");
    let error = parse_file(&missing).expect_err("missing").to_string();
    assert!(
        error.starts_with(&format!("{}: cannot read the file: ", missing.display())),
        "{error}"
    );
}

#[test]
fn windows_line_endings_give_the_same_positions() {
    let crlf = CONTRACT.replace('\n', "\r\n");
    let (raw, source) = parse(&crlf).expect("valid with CRLF");
    assert_eq!(raw, parse(CONTRACT).expect("valid").0);
    let at = source.locate("routes[2].match.path");
    assert_eq!(
        at,
        Some(Location {
            line: 56,
            column: 20
        })
    );
    let text = MINIMAL
        .replace('\n', "\r\n")
        .replace("path: /x }", "path: /x, mthods: [GET] }");
    let errors = parse(&text).expect_err(&text).to_string();
    assert!(
        errors.starts_with("gw.yaml:7:35: routes[0].match: unknown field `mthods`"),
        "{errors}"
    );
}

/// Found with the `config` fuzz target's position property: libyaml breaks lines at U+2028 and both parsers at a
/// lone CR, so errors landed on lines past the end of the file and sections were cut in the
/// wrong places (`listen:` was checked against the fields of `server:`).
#[test]
fn line_breaks_other_than_lf_and_crlf_are_refused_where_they_are() {
    let cases = [
        (
            "server: {threads: 0}\u{2028}\u{2028}\u{2028}\nlisten: [\u{2028}\u{2028} 5, {x: 1}]\n",
            "gw.yaml:1:21: a LINE SEPARATOR character (U+2028): ",
        ),
        (
            "server: {threads: 0}\rlisten: {proxy: x}\r\rroles: 5\n",
            "gw.yaml:1:21: a carriage return (CR) without a line feed after it: ",
        ),
    ];
    for (text, first) in cases {
        let errors = parse(text).expect_err(text);
        assert!(errors.to_string().starts_with(first), "{errors}");
        let lines = text.split('\n').count();
        for error in errors.iter() {
            let line = error.location.expect("positioned").line;
            assert!(usize::try_from(line).unwrap() <= lines, "{error}");
        }
    }
}

/// Found by the `config` fuzz target: libyaml puts a problem at the end of a file without a
/// final newline on the line after the last one, so the error pointed past the end.
#[test]
fn a_problem_at_the_end_of_a_file_without_final_newline_points_inside_it() {
    let errors = parse("server: {threads: 2}\ndta").expect_err("no colon");
    let first = errors.iter().next().expect("one error");
    assert_eq!(first.location, Some(Location { line: 2, column: 4 }), "{errors}");
    assert!(first.message.starts_with("could not find expected ':'"), "{errors}");
    for error in errors.iter() {
        assert!(error.location.is_some_and(|l| l.line <= 2), "{error}");
    }
}

/// Found by the `config` fuzz target: serde_yaml (libyaml) accepts a quoted string continued
/// on a line less indented than its key, yaml-rust2 does not, and without yaml-rust2's index
/// the compiler's errors had no position at all.
#[test]
fn yaml_only_the_lenient_parser_accepts_is_refused_with_a_position() {
    let text = format!("{MINIMAL}tests:\n  - {{ request: \"GET\nx: y /x\", expect: allow }}\n");
    let errors = parse(&text).expect_err(&text);
    assert_eq!(errors.len(), 1, "{errors}");
    let error = errors.iter().next().expect("one");
    assert!(error.location.is_some_and(|l| l.line <= 10), "{errors}");
    assert!(error.message.contains("this YAML is ambiguous"), "{errors}");
}

/// Found by the `config` fuzz target: yaml-rust2, like libyaml, places the end of a file
/// without a final newline on the line after the last one, and "missing field" errors
/// point at the first key, which here is an implicit one at that end.
#[test]
fn positions_from_the_index_at_the_end_of_the_file_point_inside_it() {
    let text = "?\n\n # a comment, no final newline";
    let errors = parse(text).expect_err(text);
    for error in errors.iter() {
        assert!(error.location.is_some_and(|l| l.line <= 3), "{errors}");
    }
}
