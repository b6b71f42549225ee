//! The FAULT suite (issue 5, "Proof under fire"): the real gateway binary under a fault
//! it must survive — the user database stopped and restarted, upstreams down, slow,
//! resetting or speaking garbage, the SQLite disk full or locked, the gateway itself
//! SIGKILLed mid-rotation. Each test names its fault, bounds every wait, checks the
//! stored data afterwards and prints one parseable line
//! (`RELIABILITY faults CASE requests=N errors=E lost=L`) that docs/RELIABILITY.md is
//! regenerated from (`cargo test --test system faults -- --nocapture | grep '^RELIABILITY'`).

mod config_file;
mod database_outage;
mod fault_server;
mod gateway_crash;
mod private_mariadb;
mod sqlite_disk;
mod tables;
mod upstreams;

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::common::{agent, Reply};

/// Identity settings for the fault tests: generous rate limits and a cheap argon2 cost,
/// so the load is made of store round trips rather than hashing.
pub(crate) const FAST_AUTH: &str = "auth:\n  self_register_roles: [CUSTOMER]\n  rate_limit: { max_attempts: 100000, window: 1m }\n  password: { argon2: { memory_kib: 1024, iterations: 1, parallelism: 1 } }\n";

/// A password every fault-test user gets.
pub(crate) const PASSWORD: &str = "Quartz-Lantern-88";

/// The line a script turns into the RELIABILITY table.
pub(crate) fn report(case: &str, requests: u64, errors: u64, lost: u64) {
    println!("RELIABILITY faults {case} requests={requests} errors={errors} lost={lost}");
}

/// POST a JSON body to `base` + `path`; a transport error (reset, refused, timeout)
/// is an `Err` with its text instead of a panic, so load threads can count it.
pub(crate) fn try_post(base: &str, path: &str, json: &str) -> Result<Reply, String> {
    let req = agent().post(&format!("{base}{path}")).set("Content-Type", "application/json");
    match req.send_string(json) {
        Err(ureq::Error::Transport(t)) => Err(t.to_string()),
        other => Ok(Reply::from(other)),
    }
}

/// GET `base` + `path` with an optional bearer token; transport errors as `Err`.
pub(crate) fn try_get(base: &str, path: &str, token: Option<&str>) -> Result<Reply, String> {
    let mut req = agent().get(&format!("{base}{path}"));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.call() {
        Err(ureq::Error::Transport(t)) => Err(t.to_string()),
        other => Ok(Reply::from(other)),
    }
}

/// `{"username", "password", "email"}` for a register call.
pub(crate) fn register_body(name: &str) -> String {
    serde_json::json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.com")}).to_string()
}

/// `{"username", "password"}` for a login call.
pub(crate) fn login_body(name: &str) -> String {
    serde_json::json!({"username": name, "password": PASSWORD}).to_string()
}

/// `{"refresh"}` for a refresh call.
pub(crate) fn refresh_body(token: &str) -> String {
    serde_json::json!({ "refresh": token }).to_string()
}

/// A `field` of a 200 token-pair answer.
pub(crate) fn token_field(reply: &Reply, field: &str) -> String {
    reply.json()[field].as_str().unwrap_or_else(|| panic!("no {field} in {}", reply.body)).to_owned()
}

/// Whether a reply is the store-outage answer: 503, a JSON body with `detail` and
/// `code`, and `Retry-After`. `Err` says what is wrong with it.
pub(crate) fn check_unavailable(reply: &Reply) -> Result<(), String> {
    if reply.status != 503 {
        return Err(format!("status {} (not 503): {}", reply.status, reply.body));
    }
    let body: serde_json::Value =
        serde_json::from_str(&reply.body).map_err(|e| format!("503 body is not JSON ({e}): {}", reply.body))?;
    if !body["detail"].is_string() || !body["code"].is_string() {
        return Err(format!("503 body lacks detail/code: {}", reply.body));
    }
    if reply.header("retry-after").is_none() {
        return Err("503 without Retry-After".into());
    }
    Ok(())
}

/// Outcome counts and the unexpected ones, shared by load threads.
#[derive(Default)]
pub(crate) struct Tally {
    inner: Mutex<TallyInner>,
}

#[derive(Default)]
struct TallyInner {
    counts: BTreeMap<String, u64>,
    errors: Vec<String>,
}

impl Tally {
    /// Counts one outcome under `label` (e.g. `login 503`).
    pub(crate) fn count(&self, label: impl Into<String>) {
        *self.inner.lock().unwrap().counts.entry(label.into()).or_default() += 1;
    }

    /// Records an unexpected outcome (kept for the failure message; first 20 only).
    pub(crate) fn error(&self, what: impl Into<String>) {
        let mut inner = self.inner.lock().unwrap();
        *inner.counts.entry("ERROR".into()).or_default() += 1;
        if inner.errors.len() < 20 {
            inner.errors.push(what.into());
        }
    }

    /// How many outcomes were counted under labels starting with `prefix`.
    pub(crate) fn total(&self, prefix: &str) -> u64 {
        self.inner.lock().unwrap().counts.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum()
    }

    /// Unexpected outcomes.
    pub(crate) fn errors(&self) -> u64 {
        self.inner.lock().unwrap().counts.get("ERROR").copied().unwrap_or(0)
    }

    /// All counts and the recorded errors, for assertion messages.
    pub(crate) fn summary(&self) -> String {
        let inner = self.inner.lock().unwrap();
        format!("{:?}; errors: {:#?}", inner.counts, inner.errors)
    }
}
