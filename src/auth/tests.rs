//! `AuthService` without a socket: a generation compiled from YAML, an in-memory SQLite
//! store, requests in, responses out.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::admin::Readiness;
use crate::generation::Generation;
use crate::metrics::Metrics;
use crate::store::{NewUser, Store};

use super::password::{Argon2Params, PasswordHasher};
use super::{AuthRequest, AuthRuntime, AuthService, DatabaseLink};
use crate::admission::Revocations;
use crate::answer::Answer;

const CONFIG: &str = r#"
listen: { proxy: 127.0.0.1:8080, admin: 127.0.0.1:9901 }
upstreams: { shop: { servers: [127.0.0.1:9000] } }
tokens: { algorithm: HS256, signing_key: unit-test-signing-key-0123456789abcdef0123 }
auth: { rate_limit: { max_attempts: 100, window: 1m } }
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - { name: orders, match: { path: /api/orders/** }, allow: authenticated, upstream: shop }
"#;

const ADMIN_PASSWORD: &str = "Granite-Harbor-52";

struct Rig {
    runtime: Arc<AuthRuntime>,
    service: AuthService,
    gen: Arc<Generation>,
}

impl Rig {
    fn new() -> Rig {
        let runtime = Arc::new(AuthRuntime::start().unwrap());
        let metrics = Metrics::new().unwrap();
        let config = crate::config::load_str(Path::new("unit.yaml"), CONFIG, &|_| None).unwrap();
        let gen = Arc::new(
            runtime
                .block_on(Generation::build(1, config, &metrics, &Default::default()))
                .unwrap(),
        );
        let hasher = PasswordHasher::new(Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        });
        let store = runtime.block_on(async {
            let store = Store::connect("sqlite::memory:", 1).await.unwrap();
            store.migrate().await.unwrap();
            let admin = NewUser {
                username: "root".into(),
                email: String::new(),
                password_hash: hasher.hash(ADMIN_PASSWORD).await.unwrap(),
                role: "ADMIN".into(),
                phone: String::new(),
                address: String::new(),
            };
            store.users().create(admin, chrono::Utc::now()).await.unwrap();
            store
        });
        let link = Arc::new(DatabaseLink::with_store(
            store,
            Arc::new(Readiness::default()),
        ));
        let service = AuthService::new(
            runtime.clone(),
            link,
            hasher,
            Arc::new(Revocations::new()),
            super::RateLimiter::new(None, &metrics).unwrap(),
            super::RevocationBus::new(None).unwrap(),
            metrics,
        );
        Rig {
            runtime,
            service,
            gen,
        }
    }

    fn call(&self, method: Method, path: &str, body: &str, bearer: Option<&str>) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        if let Some(token) = bearer {
            headers.insert(
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
        }
        let req = AuthRequest {
            method,
            path: path.to_owned(),
            query: None,
            headers,
            body: Bytes::from(body.to_owned()),
            client_ip: Some("192.0.2.1".parse().unwrap()),
            peer_ip: Some("192.0.2.1".parse().unwrap()),
        };
        self.runtime.block_on(self.service.handle(&self.gen, req))
    }
}

#[test]
fn register_login_me_logout_all() {
    let rig = Rig::new();
    let r = rig.call(
        Method::POST,
        "/register",
        r#"{"username":"Zoe","password":"Plum-Orchard-17"}"#,
        None,
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.json_body()["role"], "CUSTOMER");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));

    let r = rig.call(
        Method::POST,
        "/login/",
        r#"{"username":"ZOE","password":"Plum-Orchard-17"}"#,
        None,
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body.starts_with(br#"{"refresh":""#));
    let access = r.json_body()["access"].as_str().unwrap().to_owned();

    let me = rig.call(Method::GET, "/me", "", Some(&access));
    assert_eq!(
        (me.status, me.json_body()["username"].as_str()),
        (200, Some("Zoe"))
    );

    let r = rig.call(Method::POST, "/logout", r#"{"all":true}"#, Some(&access));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(rig.service.revocations().point(2).is_some());
}

#[test]
fn routing_methods_and_unknown_paths() {
    let rig = Rig::new();
    let r = rig.call(Method::OPTIONS, "/login", "", None);
    assert_eq!((r.status, r.header("allow")), (200, Some("POST, OPTIONS")));
    assert_eq!(rig.call(Method::GET, "/login", "", None).status, 405);
    assert_eq!(
        rig.call(Method::GET, "/users/1/extra", "", None).status,
        404
    );
    assert_eq!(
        rig.call(Method::GET, "/.well-known/jwks.json", "", None)
            .status,
        200
    );
    // Another scheme on register is anonymous, as DRF treats it; a bad bearer is not.
    let mut r = rig.call(
        Method::POST,
        "/register",
        r#"{"username":"x","password":"Plum-Orchard-17"}"#,
        Some("junk"),
    );
    assert_eq!(r.status, 401);
    r = rig.call(Method::POST, "/verify", r#"{"token":"junk"}"#, None);
    assert_eq!(r.status, 401);
}

impl Rig {
    fn login(&self, name: &str, password: &str) -> String {
        let body = serde_json::json!({"username": name, "password": password}).to_string();
        let r = self.call(Method::POST, "/login", &body, None);
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.json_body()["access"].as_str().unwrap().to_owned()
    }
}

/// A role change made in the very millisecond a token was minted still
/// revokes it, and a login right after the change, in that same
/// millisecond, is not refused: each round here runs well inside one
/// millisecond often enough to catch either going wrong.
#[test]
fn a_change_revokes_tokens_of_its_own_millisecond_and_spares_later_logins() {
    let rig = Rig::new();
    let admin = rig.login("root", ADMIN_PASSWORD);
    let r = rig.call(Method::POST, "/register", r#"{"username":"mia","password":"Plum-Orchard-17"}"#, None);
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.json_body()["id"].as_i64().unwrap();
    for round in 0..40 {
        let role = if round % 2 == 0 { "SELLER" } else { "CUSTOMER" };
        let before = rig.login("mia", "Plum-Orchard-17");
        let body = format!(r#"{{"role":"{role}"}}"#);
        let r = rig.call(Method::PATCH, &format!("/users/{id}"), &body, Some(&admin));
        assert_eq!(r.status, 200, "{:?}", r.body);
        let after = rig.login("mia", "Plum-Orchard-17");
        assert_eq!(rig.call(Method::GET, "/me", "", Some(&before)).status, 401, "round {round}: the old role survives");
        let me = rig.call(Method::GET, "/me", "", Some(&after));
        assert_eq!((me.status, me.json_body()["role"].as_str()), (200, Some(role)), "round {round}: a later login refused");
    }
}
