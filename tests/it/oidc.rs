//! External issuers against a real OpenID provider: node's `oidc-provider`
//! (tests/peers/oidc), started per test on a loopback port, issuing RS256 and
//! ES256 access tokens by client credentials (docs/REFERENCE.md#issuers).
//!
//! Without node and npm the suite says "skipped" and why, and passes: the
//! test command (`scripts/test.sh`) installs the peer first, so CI runs it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;

use crate::common::*;

/// A running `oidc-provider`; killed when dropped.
struct Provider {
    child: Child,
    _stdin: ChildStdin,
    url: String,
}

const API: &str = "https://api.example.test";

impl Provider {
    /// Starts the peer, or None (with the reason printed) when node cannot run it here.
    fn start() -> Option<Provider> {
        let dir = repo_path("tests/peers/oidc");
        let installed = Command::new(dir.join("install.sh")).stdout(Stdio::null()).status();
        if !installed.is_ok_and(|s| s.success()) {
            eprintln!("skipped: tests/peers/oidc/install.sh failed (node 20 and npm are needed for the OpenID provider)");
            return None;
        }
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the provider prints READY");
        let port: u16 = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the provider: {line:?}"));
        Some(Provider { child, _stdin: stdin, url: format!("http://127.0.0.1:{port}") })
    }

    /// An access token by client credentials: `rs-client` signs RS256,
    /// `es-client` ES256, `1` RS256; `extra` adds form fields (`roles`, `resource`, `ttl`).
    fn token(&self, client: &str, extra: &[(&str, &str)]) -> String {
        let secret = if client.ends_with("client") { client.replace("client", "secret") } else { format!("{client}-secret") };
        let mut form = vec![("grant_type", "client_credentials"), ("client_id", client), ("client_secret", &secret)];
        form.extend_from_slice(extra);
        let reply: Value = agent()
            .post(&format!("{}/token", self.url))
            .send_form(&form)
            .expect("the provider issues a token")
            .into_json()
            .expect("a JSON token response");
        reply["access_token"].as_str().expect("access_token").to_owned()
    }

    fn control(&self, op: &str) -> Value {
        agent()
            .post(&format!("{}/__control/{op}", self.url))
            .send_string("")
            .expect("control call")
            .into_json()
            .unwrap_or(Value::Null)
    }

    fn jwks_hits(&self) -> u64 {
        let stats: Value =
            agent().get(&format!("{}/__control/stats", self.url)).call().expect("stats").into_json().expect("json");
        stats["jwks_hits"].as_u64().expect("jwks_hits")
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gateway in front of `up` with the shop policy, its own HS256 key, and
/// the provider as issuer `oidc` (discovery, both algorithms, a short cooldown).
fn gateway(up: &Upstream, provider: &Provider, extra_issuer: &str) -> Gateway {
    let issuers = format!(
        r#"issuers:
  - name: oidc
    issuer: {url}
    discovery: true
    audiences: ["{API}"]
    algorithms: [RS256, ES256]
    leeway: 0s
    cooldown: 2s
    claims: {{ user_id: sub, username: preferred_username, roles: realm_access.roles }}
    claim_headers: {{ X-Client-Id: client_id }}
{extra_issuer}"#,
        url = provider.url
    );
    let gw = Gateway::start_with(up, SHOP_ROUTES, &issuers);
    wait_for_keys(&gw);
    gw
}

/// Waits until the gateway has fetched the issuer's keys (the metric says so).
fn wait_for_keys(gw: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let keys = gw.metrics_with("nexora_issuer_keys{");
        if keys.lines().any(|l| l.starts_with("nexora_issuer_keys{issuer=\"oidc\"}") && !l.ends_with(" 0")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the gateway never fetched the provider's keys:\n{}", gw.log());
}

fn metric(gw: &Gateway, line_start: &str) -> f64 {
    gw.metrics()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// `token` with its header replaced by `header` (the signature kept).
fn with_header(token: &str, header: &str) -> String {
    let (_, rest) = token.split_once('.').expect("a JWS");
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header))
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON")
}

#[test]
fn provider_tokens_pass_with_the_mapped_identity_beside_the_gateways_own() {
    let Some(provider) = Provider::start() else { return };
    let up = Upstream::start(Behaviour::Ok);
    let gw = gateway(&up, &provider, "");

    let seller = provider.token("rs-client", &[("roles", "SELLER offline_access")]);
    assert_eq!(header_of(&seller)["alg"], "RS256");
    let forged = [("X-User-Role", "ADMIN"), ("X-Client-Id", "someone-else"), ("X_Client_Id", "x")];
    let r = gw.get("/api/seller/items", Some(&seller), &forged);
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = up.last();
    assert_eq!(seen.header("x-user-id"), Some("rs-client"));
    assert_eq!(seen.header("x-username"), Some("rs-client"));
    // Only configured roles count: offline_access is not one.
    assert_eq!(seen.header("x-user-role"), Some("SELLER"));
    assert_eq!(seen.header_values("x-client-id"), ["rs-client"]);
    assert!(seen.header_values("x_client_id").is_empty(), "{seen:?}");
    assert_eq!(gw.get("/api/admin/stats", Some(&seller), &[]).status, 403);

    let customer = provider.token("es-client", &[]);
    assert_eq!(header_of(&customer)["alg"], "ES256");
    assert_eq!(gw.get("/api/orders/9", Some(&customer), &[]).status, 200);
    assert_eq!(gw.get("/api/seller/items", Some(&customer), &[]).status, 403);

    // Several roles: any one allowed is enough.
    let both = provider.token("es-client", &[("roles", "CUSTOMER ADMIN")]);
    assert_eq!(gw.get("/api/admin/stats", Some(&both), &[]).status, 200);
    assert_eq!(up.last().header("x-user-role"), Some("CUSTOMER,ADMIN"));

    // The gateway's own HS256 tokens keep working on the same routes.
    let own = access("42", "SELLER");
    assert_eq!(gw.get("/api/seller/items", Some(&own), &[]).status, 200);
    let seen = up.last();
    assert_eq!(seen.header("x-user-id"), Some("42"));
    assert!(seen.header_values("x-client-id").is_empty(), "{seen:?}");
}

#[test]
fn provider_tokens_never_act_as_the_gateways_own_users() {
    let Some(provider) = Provider::start() else { return };
    let up = Upstream::start(Behaviour::Ok);
    let gw = gateway(&up, &provider, "");
    let register = agent()
        .post(&format!("{}/auth/register", gw.url))
        .set("Content-Type", "application/json")
        .send_string(r#"{"username":"first","password":"Plum-Orchard-17"}"#);
    let user: Value = register.expect("registered").into_json().unwrap();
    assert_eq!(user["id"], 1, "the gateway's user 1 exists");
    // The provider's subject "1" passes the policy as its own identity...
    let external = provider.token("1", &[("roles", "ADMIN")]);
    assert_eq!(gw.get("/api/orders/1", Some(&external), &[]).status, 200);
    assert_eq!(up.last().header("x-user-id"), Some("1"));
    // ...but the identity endpoints know only the gateway's own tokens.
    for path in ["/auth/me", "/auth/users", "/auth/users/1"] {
        let r = gw.get(path, Some(&external), &[]);
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert!(r.body.contains("token_not_valid"), "{path}: {}", r.body);
    }
    let logout = Reply::from(
        agent()
            .post(&format!("{}/auth/logout", gw.url))
            .set("Content-Type", "application/json")
            .set("Authorization", &format!("Bearer {external}"))
            .send_string(r#"{"all":true}"#),
    );
    assert_eq!(logout.status, 401, "logout everywhere: {}", logout.body);
    // User 1 still logs in: nothing was revoked in their name.
    let login = agent()
        .post(&format!("{}/auth/login", gw.url))
        .set("Content-Type", "application/json")
        .send_string(r#"{"username":"first","password":"Plum-Orchard-17"}"#);
    assert_eq!(login.map(|r| r.status()).unwrap_or(0), 200);
}

#[test]
fn provider_tokens_breaking_a_rule_are_refused() {
    let Some(provider) = Provider::start() else { return };
    let Some(other) = Provider::start() else { return };
    let up = Upstream::start(Behaviour::Ok);
    let gw = gateway(&up, &provider, "");
    let good = provider.token("rs-client", &[("roles", "SELLER")]);
    assert_eq!(gw.get("/api/seller/items", Some(&good), &[]).status, 200);
    let kid = header_of(&good)["kid"].as_str().expect("kid").to_owned();

    let wrong_audience = provider.token("rs-client", &[("roles", "SELLER"), ("resource", "https://other.example.test")]);
    let wrong_issuer = other.token("rs-client", &[("roles", "SELLER")]);
    let short = provider.token("rs-client", &[("roles", "SELLER"), ("ttl", "1")]);
    let alg_switched = with_header(&good, &format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#));
    let alg_none = format!("{}.", with_header(&good, r#"{"alg":"none"}"#).rsplit_once('.').expect("JWS").0);
    // Key confusion: HS256 keyed with the provider's public key as published.
    let jwks: Value = agent().get(&format!("{}/jwks", provider.url)).call().expect("jwks").into_json().expect("json");
    let public = serde_json::to_vec(&jwks["keys"][0]).expect("jwk");
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#)),
        good.split('.').nth(1).expect("payload")
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&public).expect("any key length");
    mac.update(signed.as_bytes());
    let confused = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
    let unknown_kid = with_header(&good, r#"{"alg":"RS256","kid":"not-a-key-of-the-provider"}"#);
    // A header `jku` pointing at a listener of ours: it must never be fetched.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    trap.set_nonblocking(true).expect("nonblocking");
    let trap_url = format!("http://{}/jwks.json", trap.local_addr().expect("addr"));
    let jku = with_header(&good, &format!(r#"{{"alg":"RS256","kid":"not-the-kid","jku":"{trap_url}"}}"#));
    std::thread::sleep(Duration::from_millis(2100));

    for (what, token) in [
        ("wrong audience", &wrong_audience),
        ("unknown issuer", &wrong_issuer),
        ("expired", &short),
        ("alg switched", &alg_switched),
        ("alg none", &alg_none),
        ("HMAC with the public key", &confused),
        ("unknown kid", &unknown_kid),
        ("jku elsewhere", &jku),
    ] {
        let r = gw.get("/api/seller/items", Some(token), &[]);
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        assert_eq!(r.json()["code"], "token_not_valid", "{what}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        matches!(trap.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the gateway connected to the token's jku"
    );
    assert_eq!(up.seen().len(), 1, "no refused token reached the upstream");
    for label in ["wrong_audience", "unknown_issuer", "expired", "wrong_algorithm", "unknown_key"] {
        assert!(
            metric(&gw, &format!("nexora_token_verify_total{{result=\"{label}\"}}")) >= 1.0,
            "no {label} counted:\n{}",
            gw.metrics_with("nexora_token_verify_total")
        );
    }
}

#[test]
fn rotated_keys_are_picked_up_within_the_cooldown_and_old_tokens_still_pass() {
    let Some(provider) = Provider::start() else { return };
    let up = Upstream::start(Behaviour::Ok);
    let gw = gateway(&up, &provider, "");
    let old = provider.token("rs-client", &[("roles", "SELLER")]);
    assert_eq!(gw.get("/api/seller/items", Some(&old), &[]).status, 200);

    provider.control("rotate");
    let new = provider.token("rs-client", &[("roles", "SELLER")]);
    assert_ne!(header_of(&new)["kid"], header_of(&old)["kid"]);
    let started = Instant::now();
    let passed = loop {
        let status = gw.get("/api/seller/items", Some(&new), &[]).status;
        if status == 200 {
            break started.elapsed();
        }
        assert_eq!(status, 401);
        assert!(started.elapsed() < Duration::from_secs(4), "the new key was not fetched within the cooldown (2s)");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("a token under the rotated key passed after {passed:?}");
    assert_eq!(gw.get("/api/seller/items", Some(&old), &[]).status, 200, "old tokens pass until they expire");
}

#[test]
fn a_stopped_provider_leaves_the_cached_keys_serving_and_the_errors_counted() {
    let Some(provider) = Provider::start() else { return };
    let up = Upstream::start(Behaviour::Ok);
    let gw = gateway(&up, &provider, "");
    let token = provider.token("es-client", &[]);
    assert_eq!(gw.get("/api/orders/1", Some(&token), &[]).status, 200);

    provider.control("jwks-down?down=true");
    // An unknown kid asks for a refetch; it fails.
    let unknown = with_header(&token, r#"{"alg":"ES256","kid":"rotated-away"}"#);
    assert_eq!(gw.get("/api/orders/1", Some(&unknown), &[]).status, 401);
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&gw, "nexora_issuer_key_fetches_total{issuer=\"oidc\",outcome=\"error\"}") < 1.0 {
        assert!(Instant::now() < deadline, "no failed fetch counted:\n{}", gw.metrics_with("nexora_issuer"));
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(provider);
    assert_eq!(gw.get("/api/orders/1", Some(&token), &[]).status, 200, "the last good keys keep serving");
    assert!(metric(&gw, "nexora_issuer_keys_age_seconds{issuer=\"oidc\"}") >= 0.0);
    assert!(metric(&gw, "nexora_issuer_keys{issuer=\"oidc\"}") >= 1.0);
}

#[test]
fn a_flood_of_unknown_kids_causes_at_most_one_fetch_per_cooldown() {
    let Some(provider) = Provider::start() else { return };
    let up = Upstream::start(Behaviour::Ok);
    let gw = gateway(&up, &provider, "");
    let token = provider.token("rs-client", &[]);
    let before = provider.jwks_hits();
    let started = Instant::now();
    for i in 0..1000u32 {
        let kid: u64 = rand::random::<u64>() ^ u64::from(i);
        let forged = with_header(&token, &format!(r#"{{"alg":"RS256","kid":"k{kid:x}"}}"#));
        assert_eq!(gw.get("/api/orders/1", Some(&forged), &[]).status, 401);
    }
    let elapsed = started.elapsed();
    // Let a refetch the flood asked for last land before counting.
    std::thread::sleep(Duration::from_millis(300));
    let fetches = provider.jwks_hits() - before;
    let allowed = elapsed.as_secs() / 2 + 1;
    eprintln!("1000 unknown kids in {elapsed:?}: {fetches} JWKS fetches (at most {allowed} allowed)");
    assert!(fetches >= 1, "an unknown kid must ask for a refetch");
    assert!(fetches <= allowed, "{fetches} JWKS fetches for 1000 unknown kids in {elapsed:?}");
}

#[test]
fn an_unreachable_provider_gives_503_for_its_tokens_and_leaves_the_rest_working() {
    let Some(provider) = Provider::start() else { return };
    let dead = free_port();
    let up = Upstream::start(Behaviour::Ok);
    let extra = format!(
        r#"  - name: down
    issuer: https://down.example.test
    jwks_uri: http://127.0.0.1:{dead}/jwks
    audiences: any
"#
    );
    let gw = gateway(&up, &provider, &extra);
    // A token naming that issuer: answered 503 before any key lookup or signature check.
    let claims = format!(r#"{{"iss":"https://down.example.test","sub":"u","exp":{}}}"#, 4_000_000_000u64);
    let token = format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#), URL_SAFE_NO_PAD.encode(claims));
    let r = gw.get("/api/orders/1", Some(&token), &[]);
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["code"], "issuer_unavailable");
    assert_eq!(gw.get("/api/orders/1", Some(&access("7", "CUSTOMER")), &[]).status, 200);
    assert_eq!(gw.get("/api/orders/1", Some(&provider.token("rs-client", &[])), &[]).status, 200);
    assert!(metric(&gw, "nexora_issuer_key_fetches_total{issuer=\"down\",outcome=\"error\"}") >= 1.0);
    // `check` never needs the network.
    let (_dir, path) = write_config(&std::fs::read_to_string(&gw.config_path).expect("config"));
    let out = run_cli(&["--config", path.to_str().expect("utf-8"), "check"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::io::stderr().flush();
}

/// Routes that require a scope or an audience of the token, beside its role.
const SCOPED_ROUTES: &str = r#"
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: order-write
    match: { path: /api/orders/**, methods: [POST] }
    allow: authenticated
    scopes: [write]
    upstream: shop
  - name: reports
    match: { path: /api/reports/** }
    allow: [CUSTOMER, ADMIN]
    audience: https://other.example.test
    upstream: shop
  - name: orders
    match: { path: /api/orders/** }
    allow: authenticated
    upstream: shop
"#;

#[test]
fn routes_requiring_a_scope_or_an_audience_refuse_tokens_without_it() {
    let Some(provider) = Provider::start() else { return };
    let up = Upstream::start(Behaviour::Ok);
    let issuers = format!(
        r#"issuers:
  - name: oidc
    issuer: {url}
    discovery: true
    audiences: ["{API}", "https://other.example.test"]
    algorithms: [RS256, ES256]
    claims: {{ user_id: sub, roles: realm_access.roles }}
"#,
        url = provider.url
    );
    let gw = Gateway::start_with(&up, SCOPED_ROUTES, &issuers);
    wait_for_keys(&gw);
    let post = |token: &str| gw.request("POST", "/api/orders/1", Some(token), &[]);

    let reader = provider.token("rs-client", &[("scope", "read")]);
    let r = post(&reader);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("insufficient_scope"), "{}", r.body);
    assert_eq!(gw.get("/api/orders/1", Some(&reader), &[]).status, 200, "no scope needed to read");
    let writer = provider.token("es-client", &[("scope", "read write")]);
    assert_eq!(post(&writer).status, 200);
    // The gateway's own tokens carry no scopes.
    assert_eq!(post(&access("42", "ADMIN")).status, 403);

    // The route's audience: a token for the API is refused, one for reports passes,
    // and the role still counts.
    let for_api = provider.token("rs-client", &[("roles", "CUSTOMER")]);
    let r = gw.get("/api/reports/q1", Some(&for_api), &[]);
    assert_eq!((r.status, r.body.contains("insufficient_scope")), (403, true), "{}", r.body);
    let for_reports = provider.token("rs-client", &[("roles", "CUSTOMER"), ("resource", "https://other.example.test")]);
    assert_eq!(gw.get("/api/reports/q1", Some(&for_reports), &[]).status, 200);
    let seller = provider.token("rs-client", &[("roles", "SELLER"), ("resource", "https://other.example.test")]);
    let r = gw.get("/api/reports/q1", Some(&seller), &[]);
    assert_eq!((r.status, r.body.contains("permission_denied")), (403, true), "{}", r.body);
    // The access log names which requirement refused each.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(gw.log().contains("missing_scope") && gw.log().contains("wrong_audience")) {
        assert!(Instant::now() < deadline, "no refusal reason in the access log:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}
