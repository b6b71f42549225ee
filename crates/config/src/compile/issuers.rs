//! Compiling `issuers:`: external identity providers. Everything is checked
//! here, without the network (`check` never fetches): names and `iss` unique,
//! a key source (discovery or `jwks_uri`) that is HTTPS unless it is on
//! loopback, audiences written out (or `any`, explicitly), asymmetric
//! algorithms only, claim paths, and claim header names that are neither the
//! identity headers nor headers the gateway or HTTP owns.

use std::collections::BTreeMap;
use std::time::Duration;

use http::HeaderName;
use nexora_policy::Roles;
use nexora_token::remote::{fold_header_name, Audiences, ClaimMap, ClaimPath, IssuerSettings};
use nexora_token::Algorithm;

use super::Compiler;
use crate::raw;
use crate::{IdentityHeaders, IssuerSpec, KeySource};

impl Compiler<'_> {
    /// The issuers, or `None` when any of them has an error (all are reported).
    pub(super) fn issuers(
        &mut self,
        raw: Option<Vec<raw::Issuer>>,
        roles: &Roles,
        own_issuer: Option<&str>,
        identity: Option<&IdentityHeaders>,
    ) -> Option<Vec<IssuerSpec>> {
        let mut compiled = Vec::new();
        let mut ok = true;
        for (i, issuer) in raw.unwrap_or_default().into_iter().enumerate() {
            let at = format!("issuers[{i}]");
            if compiled.iter().any(|c: &IssuerSpec| c.verify.name == issuer.name) {
                self.error(&format!("{at}.name"), format!("issuer name {:?} is used twice", issuer.name));
                ok = false;
                continue;
            }
            if compiled.iter().any(|c: &IssuerSpec| c.verify.issuer == issuer.issuer) {
                self.error(&format!("{at}.issuer"), "two issuers with the same `issuer`: a token's `iss` must choose one");
                ok = false;
                continue;
            }
            if own_issuer == Some(issuer.issuer.as_str()) {
                self.error(&format!("{at}.issuer"), "this is tokens.issuer, the gateway's own: its tokens are verified with tokens' keys");
                ok = false;
                continue;
            }
            match self.issuer(&at, issuer, roles, identity) {
                Some(spec) => compiled.push(spec),
                None => ok = false,
            }
        }
        ok.then_some(compiled)
    }

    fn issuer(
        &mut self,
        at: &str,
        raw: raw::Issuer,
        roles: &Roles,
        identity: Option<&IdentityHeaders>,
    ) -> Option<IssuerSpec> {
        let raw::Issuer {
            name,
            issuer,
            discovery,
            jwks_uri,
            audiences,
            algorithms,
            leeway,
            refresh,
            cooldown,
            max_stale,
            fetch_timeout,
            claims,
            token_type,
            claim_headers,
        } = raw;
        let errors_before = self.errors.len();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            self.error(&format!("{at}.name"), "use letters, digits, '-' and '_' (it labels metrics)");
        }
        if issuer.is_empty() {
            self.error(&format!("{at}.issuer"), "required: the exact `iss` of the provider's tokens");
        }
        let keys = match (discovery.unwrap_or(false), jwks_uri) {
            (true, Some(_)) => {
                self.error(&format!("{at}.jwks_uri"), "give either `discovery: true` or `jwks_uri`, not both");
                None
            }
            (true, None) => {
                let base = issuer.trim_end_matches('/');
                let url = format!("{base}/.well-known/openid-configuration");
                self.fetch_url(&format!("{at}.issuer"), &url).then_some(KeySource::Discovery(url))
            }
            (false, Some(uri)) => self.fetch_url(&format!("{at}.jwks_uri"), &uri).then_some(KeySource::JwksUri(uri)),
            (false, None) => {
                self.error(at, "say where the keys are: `discovery: true` or `jwks_uri: https://...`");
                None
            }
        };
        let audiences = match audiences {
            None => {
                self.error(&format!("{at}.audiences"), "required: the `aud` values this gateway accepts, or `any` to accept every audience");
                None
            }
            Some(raw::IssuerAudiences::Word(word)) if word == "any" => Some(Audiences::Any),
            Some(raw::IssuerAudiences::Word(word)) => {
                self.error(&format!("{at}.audiences"), format!("{word:?}: write a list (`[api]`) or the word `any`"));
                None
            }
            Some(raw::IssuerAudiences::List(list)) if list.is_empty() || list.iter().any(String::is_empty) => {
                self.error(&format!("{at}.audiences"), "list at least one non-empty audience, or write `any`");
                None
            }
            Some(raw::IssuerAudiences::List(list)) => Some(Audiences::OneOf(list)),
        };
        let algorithms: Vec<Algorithm> = match algorithms {
            None => vec![Algorithm::RS256],
            Some(list) if list.is_empty() => {
                self.error(&format!("{at}.algorithms"), "list at least one algorithm");
                Vec::new()
            }
            Some(list) => list.into_iter().map(to_algorithm).collect(),
        };
        let leeway = self.duration(&format!("{at}.leeway"), leeway.as_deref(), "30s");
        let refresh = self.duration(&format!("{at}.refresh"), refresh.as_deref(), "10m");
        let cooldown = self.duration(&format!("{at}.cooldown"), cooldown.as_deref(), "30s");
        let max_stale = self.duration(&format!("{at}.max_stale"), max_stale.as_deref(), "24h");
        let fetch_timeout = self.duration(&format!("{at}.fetch_timeout"), fetch_timeout.as_deref(), "5s");
        self.at_least(&format!("{at}.refresh"), refresh, Duration::from_secs(10));
        self.at_least(&format!("{at}.cooldown"), cooldown, Duration::from_secs(1));
        self.at_least(&format!("{at}.fetch_timeout"), fetch_timeout, Duration::from_millis(100));
        if let (Some(refresh), Some(max_stale)) = (refresh, max_stale) {
            if max_stale < refresh {
                self.error(&format!("{at}.max_stale"), "must be at least `refresh`, or keys would lapse between two fetches");
            }
        }
        let claims = self.claim_map(at, claims);
        let claim_headers = self.claim_headers(at, claim_headers.unwrap_or_default(), identity);
        if token_type.as_deref() == Some("") {
            self.error(&format!("{at}.token_type"), "leave it out, or name the required type");
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(IssuerSpec {
            verify: IssuerSettings {
                name,
                issuer,
                audiences: audiences?,
                algorithms,
                leeway: leeway?,
                claims: claims?,
                token_type,
                claim_headers: claim_headers?,
                known_roles: roles.names().to_vec(),
            },
            keys: keys?,
            refresh: refresh?,
            cooldown: cooldown?,
            max_stale: max_stale?,
            fetch_timeout: fetch_timeout?,
        })
    }

    /// Whether `url` may be fetched for keys: `https://`, or `http://` on a
    /// loopback host (a provider beside the gateway, or a test). Keys fetched
    /// in clear text across a network could be replaced on the way.
    fn fetch_url(&mut self, at: &str, url: &str) -> bool {
        if !crate::is_fetchable_key_url(url) {
            self.error(at, format!("{url:?}: keys are fetched over https:// only (http:// only on a loopback host)"));
            return false;
        }
        if url.starts_with("https://") {
            // A build without TLS could never fetch it: say so now, not at the first fetch.
            self.refuse_without_tls_backend(at);
        }
        true
    }

    fn at_least(&mut self, at: &str, value: Option<Duration>, floor: Duration) {
        if value.is_some_and(|v| v < floor) {
            self.error(at, format!("must be at least {}ms", floor.as_millis()));
        }
    }

    fn claim_map(&mut self, at: &str, raw: Option<raw::IssuerClaims>) -> Option<ClaimMap> {
        let raw::IssuerClaims { user_id, username, roles, scopes } =
            raw.unwrap_or(raw::IssuerClaims { user_id: None, username: None, roles: None, scopes: None });
        let mut path = |field: &str, text: &str| match ClaimPath::parse(text) {
            Ok(path) => Some(path),
            Err(e) => {
                self.error(&format!("{at}.claims.{field}"), e.to_string());
                None
            }
        };
        let user_id = path("user_id", user_id.as_deref().unwrap_or("sub"));
        let username = username.map(|t| path("username", &t));
        let roles = roles.map(|t| path("roles", &t));
        let scopes = path("scopes", scopes.as_deref().unwrap_or("scope"));
        Some(ClaimMap {
            scopes: scopes?,
            user_id: user_id?,
            username: username.map_or(Some(None), |p| p.map(Some))?,
            roles: roles.map_or(Some(None), |p| p.map(Some))?,
        })
    }

    fn claim_headers(
        &mut self,
        at: &str,
        raw: BTreeMap<String, String>,
        identity: Option<&IdentityHeaders>,
    ) -> Option<Vec<(HeaderName, ClaimPath)>> {
        let mut headers = Vec::new();
        let mut ok = true;
        for (name, path) in raw {
            let field = format!("{at}.claim_headers.{name}");
            let header = self.header_name(&field, &name);
            let taken = header.as_ref().is_some_and(|h| {
                let folded = fold_header_name(h.as_str());
                identity.is_some_and(|ids| ids.names().iter().any(|id| fold_header_name(id.as_str()) == folded))
                    || !nexora_token::remote::claim_header_allowed(h)
            });
            if taken {
                self.error(&field, "this header is an identity header or one the gateway sets itself: choose another name");
            }
            let path = match ClaimPath::parse(&path) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.error(&field, e.to_string());
                    None
                }
            };
            match (header, path) {
                (Some(h), Some(p)) if !taken => headers.push((h, p)),
                _ => ok = false,
            }
        }
        ok.then_some(headers)
    }
}

fn to_algorithm(raw: raw::RemoteAlgorithm) -> Algorithm {
    match raw {
        raw::RemoteAlgorithm::RS256 => Algorithm::RS256,
        raw::RemoteAlgorithm::RS384 => Algorithm::RS384,
        raw::RemoteAlgorithm::RS512 => Algorithm::RS512,
        raw::RemoteAlgorithm::PS256 => Algorithm::PS256,
        raw::RemoteAlgorithm::PS384 => Algorithm::PS384,
        raw::RemoteAlgorithm::PS512 => Algorithm::PS512,
        raw::RemoteAlgorithm::ES256 => Algorithm::ES256,
        raw::RemoteAlgorithm::ES384 => Algorithm::ES384,
        raw::RemoteAlgorithm::EdDSA => Algorithm::EdDSA,
    }
}
