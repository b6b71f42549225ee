//! `AuthService`: routes an [`AuthRequest`] to its endpoint and turns the outcome into an
//! [`Answer`] with the security headers every identity answer carries.
//!
//! Endpoints that touch the store or hash passwords run on the [`AuthRuntime`]; the
//! stateless ones (JWKS, verify, decide) run inline on the calling proxy worker. At most
//! [`MAX_IN_FLIGHT`] runtime-bound requests are queued; more answer 503 at once, so a
//! login flood cannot pile up unbounded memory or latency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use http::Method;

use crate::generation::Generation;
use crate::metrics::Metrics;
use crate::token::unix_now_ms;

use super::error::AuthError;
use super::link::DatabaseLink;
use super::password::PasswordHasher;
use super::rate_limit::RateLimiter;
use super::revocation_bus::RevocationBus;
use super::request::{AuthRequest, Empty};
use crate::answer::Answer;
use crate::admission::Revocations;
use super::runtime::AuthRuntime;
use super::{decide, jwks, login, logout, me, refresh, register, users, verify};

/// The path of the JWKS document (served outside `auth.prefix`).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Most store- or hash-bound requests queued on the auth runtime at once.
pub(crate) const MAX_IN_FLIGHT: usize = 256;

/// State every endpoint shares.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<AuthRuntime>,
    pub(crate) link: Arc<DatabaseLink>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) revocations: Arc<Revocations>,
    pub(crate) limiter: RateLimiter,
    pub(crate) bus: RevocationBus,
    pub(crate) metrics: Metrics,
    in_flight: AtomicUsize,
}

impl Shared {
    /// Moves `user_id`'s revocation point to `point_ms` on this replica at
    /// once, and pushes it to the others (the poll carries it otherwise).
    pub(crate) async fn revoke(&self, user_id: i64, point_ms: i64) {
        self.revocations.note(user_id, point_ms);
        self.bus.publish(user_id, point_ms).await;
    }
}

/// One request on its way through an endpoint.
pub(crate) struct Call {
    pub(crate) gen: Arc<Generation>,
    pub(crate) req: AuthRequest,
    /// Unix seconds when the request arrived.
    pub(crate) now: u64,
    /// The same instant in unix milliseconds: revocation points are set in them.
    pub(crate) now_ms: i64,
}

/// The identity endpoints. Cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct AuthService {
    shared: Arc<Shared>,
}

/// Which endpoint a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Register,
    Login,
    Refresh,
    Verify,
    Logout,
    Me,
    Users,
    User(Option<i64>),
    Decide,
    Jwks,
}

impl Endpoint {
    fn parse(path: &str) -> Option<Endpoint> {
        if path == JWKS_PATH {
            return Some(Endpoint::Jwks);
        }
        let path = path.strip_suffix('/').unwrap_or(path);
        Some(match path {
            "/register" => Endpoint::Register,
            "/login" => Endpoint::Login,
            "/refresh" => Endpoint::Refresh,
            "/verify" => Endpoint::Verify,
            "/logout" => Endpoint::Logout,
            "/me" => Endpoint::Me,
            "/users" => Endpoint::Users,
            "/decide" => Endpoint::Decide,
            other => {
                let id = other.strip_prefix("/users/")?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                // A malformed id is a 404 for that user, not for the endpoint.
                Endpoint::User(id.parse::<i64>().ok().filter(|id| *id > 0))
            }
        })
    }

    /// The `Allow` header value; `None` when every method is accepted.
    fn allow(self) -> Option<&'static str> {
        match self {
            Endpoint::Register
            | Endpoint::Login
            | Endpoint::Refresh
            | Endpoint::Verify
            | Endpoint::Logout => Some("POST, OPTIONS"),
            Endpoint::Me | Endpoint::Jwks => Some("GET, HEAD, OPTIONS"),
            Endpoint::Users => Some("GET, POST, HEAD, OPTIONS"),
            Endpoint::User(_) => Some("GET, PATCH, DELETE, HEAD, OPTIONS"),
            Endpoint::Decide => None,
        }
    }

    fn accepts(self, method: &Method) -> bool {
        let Some(allow) = self.allow() else {
            return true;
        };
        allow.split(", ").any(|m| m == method.as_str())
    }
}

impl AuthService {
    /// The service over its shared machinery.
    pub fn new(
        runtime: Arc<AuthRuntime>,
        link: Arc<DatabaseLink>,
        hasher: PasswordHasher,
        revocations: Arc<Revocations>,
        limiter: RateLimiter,
        bus: RevocationBus,
        metrics: Metrics,
    ) -> AuthService {
        let shared = Shared {
            runtime,
            link,
            hasher,
            revocations,
            limiter,
            bus,
            metrics,
            in_flight: AtomicUsize::new(0),
        };
        AuthService {
            shared: Arc::new(shared),
        }
    }

    /// The revocation map the hot path consults after verifying a bearer token.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.shared.revocations
    }

    /// Whether `path` (normalised) is served here rather than proxied: `auth.prefix`
    /// itself, anything below it, and the JWKS document.
    pub fn identity_route<'p>(gen: &Generation, path: &'p str) -> Option<&'p str> {
        if path == JWKS_PATH {
            return Some(path);
        }
        let rest = path.strip_prefix(gen.config.auth.prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// Answers one request. Never panics outward: a panicking endpoint is a 500.
    pub async fn handle(&self, gen: &Arc<Generation>, req: AuthRequest) -> Answer {
        let now_ms = unix_now_ms();
        let call = Call {
            gen: gen.clone(),
            now: now_ms / 1000,
            now_ms: i64::try_from(now_ms).unwrap_or(i64::MAX),
            req,
        };
        let response = match self.dispatch(call).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        };
        with_security_headers(response)
    }

    async fn dispatch(&self, call: Call) -> Result<Answer, AuthError> {
        let endpoint = Endpoint::parse(&call.req.path).ok_or(AuthError::NotFound)?;
        if call.req.method == Method::OPTIONS {
            if let Some(allow) = endpoint.allow() {
                return Ok(Answer::json(200, &Empty {})
                    .with_header(http::header::ALLOW, HeaderValue::from_static(allow)));
            }
        }
        if !endpoint.accepts(&call.req.method) {
            return Err(AuthError::MethodNotAllowed {
                method: call.req.method.clone(),
                allow: endpoint.allow().unwrap_or(""),
            });
        }
        match endpoint {
            Endpoint::Jwks => Ok(jwks::serve(&call)),
            Endpoint::Verify => verify::serve(&self.shared, &call),
            Endpoint::Decide => decide::serve(&self.shared, &call),
            _ => self.on_runtime(endpoint, call).await,
        }
    }

    /// Runs a store-bound endpoint on the auth runtime, within the in-flight bound.
    async fn on_runtime(&self, endpoint: Endpoint, call: Call) -> Result<Answer, AuthError> {
        let shared = &self.shared;
        // Counted until the task ends on the runtime, even if the client goes away first.
        let guard = InFlight(shared.clone());
        if shared.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            return Err(AuthError::Unavailable(
                "too many identity requests in flight".into(),
            ));
        }
        shared
            .runtime
            .try_run(async move {
                let guard = guard;
                run_endpoint(&guard.0, endpoint, call).await
            })
            .await?
    }
}

/// One slot of the in-flight bound, released when dropped.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn run_endpoint(
    shared: &Shared,
    endpoint: Endpoint,
    call: Call,
) -> Result<Answer, AuthError> {
    let outcome = match endpoint {
        Endpoint::Register => register::serve(shared, &call).await,
        Endpoint::Login => login::serve(shared, &call).await,
        Endpoint::Refresh => refresh::serve(shared, &call).await,
        Endpoint::Logout => logout::serve(shared, &call).await,
        Endpoint::Me => me::serve(shared, &call).await,
        Endpoint::Users => users::serve_collection(shared, &call).await,
        Endpoint::User(id) => users::serve_one(shared, &call, id).await,
        Endpoint::Jwks | Endpoint::Verify | Endpoint::Decide => Err(AuthError::NotFound),
    };
    if let Err(AuthError::Unavailable(_)) = &outcome {
        // Whatever failed to reach the store, the link should look again now.
        shared
            .link
            .observe(&crate::store::StoreError::Unavailable(String::new()));
    }
    outcome
}

/// Headers every identity answer carries besides the writer's own
/// ([`crate::answer::response_header`]: no-store unless set): nothing here may be framed or sniffed.
fn with_security_headers(mut response: Answer) -> Answer {
    let fixed: [(HeaderName, &'static str); 3] = [
        (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (http::header::X_FRAME_OPTIONS, "DENY"),
        (http::header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        response
            .headers
            .push((name, HeaderValue::from_static(value)));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_endpoints() {
        assert_eq!(Endpoint::parse("/login"), Some(Endpoint::Login));
        assert_eq!(Endpoint::parse("/login/"), Some(Endpoint::Login));
        assert_eq!(Endpoint::parse("/users/12"), Some(Endpoint::User(Some(12))));
        assert_eq!(
            Endpoint::parse("/users/x'; DROP"),
            Some(Endpoint::User(None))
        );
        assert_eq!(Endpoint::parse("/users/-1"), Some(Endpoint::User(None)));
        assert_eq!(Endpoint::parse("/users/1/2"), None);
        assert_eq!(Endpoint::parse(""), None);
        assert_eq!(Endpoint::parse("/nope"), None);
        assert_eq!(Endpoint::parse(JWKS_PATH), Some(Endpoint::Jwks));
    }

    #[test]
    fn methods_are_checked() {
        assert!(Endpoint::Login.accepts(&Method::POST));
        assert!(!Endpoint::Login.accepts(&Method::GET));
        assert!(Endpoint::User(Some(1)).accepts(&Method::PATCH));
        assert!(!Endpoint::User(Some(1)).accepts(&Method::PUT));
        assert!(Endpoint::Decide.accepts(&Method::DELETE));
    }
}
