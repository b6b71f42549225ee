//! `user import-django`: insert parsed Django rows, report each refusal, summarise.
//! Rows whose id is already present are skipped, so a fixed file can be imported again.

use std::collections::HashSet;
use std::fmt::Write as _;

use anyhow::bail;

use super::Admin;
use crate::store::canonical;
use crate::store::{ImportRowError, ImportedUser, StoreError};

/// Hash formats the gateway verifies (and rehashes to argon2id at the next login).
const VERIFIABLE: [&str; 3] = ["pbkdf2_sha256$", "argon2$argon2", "$argon2"];

/// Imports `rows`; with `dry_run` only checks them (also for collisions within the
/// file). Problems go to stderr, the summary is returned; an error when any row was
/// refused.
pub(super) async fn run(
    admin: &Admin,
    rows: Vec<Result<ImportedUser, ImportRowError>>,
    dry_run: bool,
) -> anyhow::Result<String> {
    let (mut imported, mut present, mut refused) = (0usize, 0usize, 0usize);
    let mut seen = HashSet::new();
    for (index, row) in rows.into_iter().enumerate() {
        let record = index + 1;
        let user = match row {
            Ok(user) => user,
            Err(e) => {
                eprintln!("{e}");
                refused += 1;
                continue;
            }
        };
        let label = format!("record {record} (id {}, username {:?})", user.id, user.username);
        if let Err(problem) = check(admin, &user, &mut seen) {
            eprintln!("{label}: {problem}");
            refused += 1;
            continue;
        }
        let unverifiable =
            !user.password_hash.starts_with('!') && !VERIFIABLE.iter().any(|p| user.password_hash.starts_with(p));
        let warn = || {
            if unverifiable {
                eprintln!("{label}: warning: this password hash format cannot be verified; set a new password with `user set-password`");
            }
        };
        if dry_run {
            warn();
            imported += 1;
            continue;
        }
        match admin.store.users().insert_imported(&user).await {
            Ok(_) => {
                warn();
                imported += 1;
            }
            Err(StoreError::Duplicate { field }) => match admin.store.users().by_id(user.id).await? {
                Some(existing) if same_name(&existing.username, &user.username) => present += 1,
                Some(existing) => {
                    eprintln!("{label}: id {} already belongs to {:?}", user.id, existing.username);
                    refused += 1;
                }
                None => {
                    eprintln!("{label}: a user with that {field} already exists");
                    refused += 1;
                }
            },
            Err(e @ (StoreError::Unavailable(_) | StoreError::Other(_))) => return Err(e.into()),
            Err(e) => {
                eprintln!("{label}: {e}");
                refused += 1;
            }
        }
    }
    let mut summary = String::new();
    let verb = if dry_run { "would import" } else { "imported" };
    let _ = writeln!(summary, "{verb} {imported} user(s); {present} already present; {refused} refused");
    if refused > 0 {
        print!("{summary}");
        bail!("{refused} record(s) refused (see above); fix them and import again: rows already imported are skipped");
    }
    Ok(summary)
}

fn same_name(a: &str, b: &str) -> bool {
    canonical::canonical_username(a).ok() == canonical::canonical_username(b).ok()
}

/// Role known, names canonicalisable, and no canonical collision with an earlier row of
/// the same file.
fn check(admin: &Admin, user: &ImportedUser, seen: &mut HashSet<String>) -> Result<(), String> {
    if !admin.roles.contains(&user.role) {
        return Err(format!("role {:?} is not one of the configured roles {:?}", user.role, admin.roles));
    }
    let name = canonical::canonical_username(&user.username).map_err(|e| format!("username: {e}"))?;
    let email = canonical::canonical_email(&user.email).map_err(|e| format!("email: {e}"))?;
    if !seen.insert(format!("u:{name}")) {
        return Err(format!("username is the same account as an earlier record's ({name:?})"));
    }
    if !email.is_empty() && !seen.insert(format!("e:{email}")) {
        return Err(format!("email is the same as an earlier record's ({email:?})"));
    }
    Ok(())
}
