//! What the store holds after a fault, read straight from the tables (SQLite or MySQL),
//! and the invariants of the refresh-token families (src/store/refresh_tokens.rs):
//! a token is used once it has a successor (`parent_jti` pointing at it) or `used_at`;
//! live = not used, not revoked. Consistent = no token with two successors and at most
//! one live token per family.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Connection;

use crate::common::auth::runtime;

/// One `refresh_tokens` row.
#[derive(Debug, Clone)]
pub(crate) struct TokenRow {
    /// Its jti.
    pub(crate) jti: String,
    /// Its rotation family.
    pub(crate) family: String,
    /// The jti it replaced (None for a login's first token).
    pub(crate) parent: Option<String>,
    /// Set on rows consumed by the old two-statement rotation.
    pub(crate) used_at: Option<i64>,
    /// Revoked by logout, reuse detection, password change or disable.
    pub(crate) revoked: bool,
}

const MYSQL_TOKENS: &str = "SELECT CAST(jti AS CHAR), CAST(family_id AS CHAR), CAST(parent_jti AS CHAR), used_at, \
     CAST(revoked AS SIGNED) FROM refresh_tokens";
const SQLITE_TOKENS: &str = "SELECT jti, family_id, parent_jti, used_at, revoked FROM refresh_tokens";

type RawRow = (String, String, Option<String>, Option<i64>, i64);

/// Every row of `refresh_tokens` of the database at `url`.
pub(crate) fn token_rows(url: &str) -> Vec<TokenRow> {
    let url = url.to_owned();
    let raw: Vec<RawRow> = runtime().block_on(async move {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open the SQLite store");
            sqlx::query_as(SQLITE_TOKENS).fetch_all(&mut c).await.expect("read refresh_tokens")
        } else {
            let mut c = sqlx::MySqlConnection::connect(&url).await.expect("connect to the MySQL store");
            sqlx::query_as(MYSQL_TOKENS).fetch_all(&mut c).await.expect("read refresh_tokens")
        }
    });
    raw.into_iter()
        .map(|(jti, family, parent, used_at, revoked)| TokenRow { jti, family, parent, used_at, revoked: revoked != 0 })
        .collect()
}

/// Every `username` of the `users` table at `url`, duplicates kept.
pub(crate) fn usernames(url: &str) -> Vec<String> {
    let url = url.to_owned();
    runtime().block_on(async move {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open the SQLite store");
            sqlx::query_scalar("SELECT username FROM users").fetch_all(&mut c).await.expect("read users")
        } else {
            let mut c = sqlx::MySqlConnection::connect(&url).await.expect("connect to the MySQL store");
            sqlx::query_scalar("SELECT CAST(username AS CHAR) FROM users").fetch_all(&mut c).await.expect("read users")
        }
    })
}

/// The jtis that have a successor.
pub(crate) fn parents(rows: &[TokenRow]) -> BTreeSet<&str> {
    rows.iter().filter_map(|r| r.parent.as_deref()).collect()
}

/// Rows of `families` that are live (neither used nor revoked), per family.
pub(crate) fn live_per_family<'a>(rows: &'a [TokenRow], families: &BTreeSet<String>) -> BTreeMap<&'a str, Vec<&'a str>> {
    let used = parents(rows);
    let mut live: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in rows.iter().filter(|r| families.contains(&r.family)) {
        if !r.revoked && r.used_at.is_none() && !used.contains(r.jti.as_str()) {
            live.entry(r.family.as_str()).or_default().push(r.jti.as_str());
        }
    }
    live
}

/// Broken invariants among the rows of `families`: a token with two successors, or a
/// family with more than one live token. Empty when consistent.
pub(crate) fn family_problems(rows: &[TokenRow], families: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut successors: BTreeMap<&str, u32> = BTreeMap::new();
    for r in rows.iter().filter(|r| families.contains(&r.family)) {
        if let Some(p) = &r.parent {
            *successors.entry(p.as_str()).or_default() += 1;
        }
    }
    for (parent, n) in successors.into_iter().filter(|(_, n)| *n > 1) {
        problems.push(format!("token {parent} has {n} successors"));
    }
    for (family, live) in live_per_family(rows, families).into_iter().filter(|(_, l)| l.len() > 1) {
        problems.push(format!("family {family} has {} live tokens: {live:?}", live.len()));
    }
    problems
}
