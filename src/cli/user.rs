//! `migrate` and `user …`: administration of the user store without the HTTP API.
//!
//! These commands run on a small tokio runtime of their own (Pingora is not involved).
//! Each command is an `Admin` method returning the text to print, so tests drive them
//! against an SQLite store without a terminal.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, ensure, Context};

use super::{
    ImportDjangoArgs, ImportFileFormat, UserCommand, UserCreateArgs, UserSetPasswordArgs, UserSetRoleArgs, UserTarget,
};
use crate::store::canonical;
use crate::auth::password::PasswordHasher;
use crate::auth::validate_password::{too_long, validate_password};
use crate::config::Config;
use crate::store::{parse_export, ImportFormat, NewUser, Store, StoreError, User, UserPatch};

mod import;
mod terminal;
#[cfg(test)]
mod tests;

/// `nexora-gate migrate`.
pub(super) fn migrate(config_path: &Path) -> anyhow::Result<()> {
    let config = super::load_config(config_path)?;
    runtime()?.block_on(async {
        let store = Store::connect(&config.database.url, 1).await.context("opening the database")?;
        store.migrate().await.context("applying migrations")?;
        println!("schema up to date ({} database)", store.dialect());
        store.close().await;
        Ok::<(), anyhow::Error>(())
    })
}

/// `nexora-gate user …`.
pub(super) fn run(config_path: &Path, command: UserCommand) -> anyhow::Result<()> {
    let config = super::load_config(config_path)?;
    runtime()?.block_on(async {
        let admin = Admin::open(&config).await?;
        let outcome = admin.execute(command, &mut terminal::read_password).await;
        admin.store.close().await;
        print!("{}", outcome?);
        Ok::<(), anyhow::Error>(())
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")
}

/// Where a new password comes from: `true` = standard input, `false` = the terminal.
pub(super) type PasswordSource<'a> = dyn FnMut(bool, usize) -> anyhow::Result<String> + 'a;

/// What the user commands need.
pub(super) struct Admin {
    pub(super) store: Store,
    pub(super) hasher: PasswordHasher,
    pub(super) roles: Vec<String>,
    pub(super) min_length: usize,
    pub(super) max_length: usize,
}

impl Admin {
    async fn open(config: &Config) -> anyhow::Result<Admin> {
        let store = Store::connect(&config.database.url, 2).await.context("opening the database")?;
        if config.database.migrate_on_start {
            store.migrate().await.context("applying migrations (database.migrate_on_start)")?;
        }
        Ok(Admin {
            store,
            hasher: PasswordHasher::new(config.auth.argon2).with_max_length(config.auth.password_max_length),
            roles: config.roles.names().to_vec(),
            min_length: config.auth.password_min_length,
            max_length: config.auth.password_max_length,
        })
    }

    /// Runs one command; returns what to print on stdout.
    pub(super) async fn execute(
        &self,
        command: UserCommand,
        password: &mut PasswordSource<'_>,
    ) -> anyhow::Result<String> {
        match command {
            UserCommand::Create(args) => self.create(args, password).await,
            UserCommand::List(args) => self.list(args.limit, args.offset).await,
            UserCommand::SetRole(UserSetRoleArgs { target, role }) => {
                self.check_role(&role)?;
                let user = self.find(&target).await?;
                let patch = UserPatch { role: Some(role), ..UserPatch::default() };
                let user = self.store.users().update(user.id, patch, point_now()).await?;
                Ok(format!("user {} ({}) now has role {}\n", user.id, user.username, user.role))
            }
            UserCommand::Disable(target) => self.set_active(&target, false).await,
            UserCommand::Enable(target) => self.set_active(&target, true).await,
            UserCommand::SetPassword(UserSetPasswordArgs { target, password_stdin }) => {
                let user = self.find(&target).await?;
                let new = self.new_password(password, password_stdin, &user.username, &user.email)?;
                let hash = self.hasher.hash(&new).await?;
                self.store.users().set_password_hash(user.id, &hash, true, point_now()).await?;
                Ok(format!("password of user {} ({}) changed; their tokens are revoked\n", user.id, user.username))
            }
            UserCommand::ImportDjango(args) => self.import_django(args).await,
        }
    }

    async fn create(&self, args: UserCreateArgs, password: &mut PasswordSource<'_>) -> anyhow::Result<String> {
        let UserCreateArgs { username, email, role, phone, address, password_stdin } = args;
        self.check_role(&role)?;
        canonical::canonical_username(&username).map_err(|e| anyhow::anyhow!("username: {e}"))?;
        canonical::canonical_email(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
        let new = self.new_password(password, password_stdin, &username, &email)?;
        let password_hash = self.hasher.hash(&new).await?;
        let new = NewUser { username, email, password_hash, role, phone, address };
        let user = self.store.users().create(new, chrono::Utc::now()).await?;
        Ok(format!("created user {} ({}) with role {}\n", user.id, user.username, user.role))
    }

    async fn list(&self, limit: u32, offset: u32) -> anyhow::Result<String> {
        let users = self.store.users().list(limit, offset).await?;
        let mut out = String::from("id\tusername\temail\trole\tactive\tdate_joined\tlast_login\n");
        for u in users {
            let last = u.last_login.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
            let joined = u.date_joined.to_rfc3339();
            out += &format!("{}\t{}\t{}\t{}\t{}\t{joined}\t{last}\n", u.id, u.username, u.email, u.role, u.is_active);
        }
        Ok(out)
    }

    async fn set_active(&self, target: &UserTarget, active: bool) -> anyhow::Result<String> {
        let user = self.find(target).await?;
        let patch = UserPatch { is_active: Some(active), ..UserPatch::default() };
        let user = self.store.users().update(user.id, patch, point_now()).await?;
        if active {
            return Ok(format!("user {} ({}) enabled\n", user.id, user.username));
        }
        let revoked = self.store.refresh_tokens().revoke_user(user.id).await?;
        Ok(format!("user {} ({}) disabled; {revoked} refresh token(s) revoked\n", user.id, user.username))
    }

    async fn import_django(&self, args: ImportDjangoArgs) -> anyhow::Result<String> {
        let ImportDjangoArgs { file, format, dry_run } = args;
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let format = match format {
            Some(ImportFileFormat::Csv) => ImportFormat::Csv,
            Some(ImportFileFormat::Json) => ImportFormat::Json,
            None => ImportFormat::sniff(&text),
        };
        let rows = parse_export(&text, format).with_context(|| format!("reading {}", file.display()))?;
        import::run(self, rows, dry_run).await
    }

    fn check_role(&self, role: &str) -> anyhow::Result<()> {
        ensure!(self.roles.iter().any(|r| r == role), "unknown role {role:?}: the config's roles are {:?}", self.roles);
        Ok(())
    }

    async fn find(&self, target: &UserTarget) -> anyhow::Result<User> {
        let found = match target {
            UserTarget { id: Some(id), .. } => self.store.users().by_id(*id).await?,
            UserTarget { username: Some(name), .. } => self.store.users().by_username(name).await?,
            UserTarget { id: None, username: None } => bail!("name the user with --username or --id"),
        };
        found.ok_or_else(|| anyhow::Error::new(StoreError::NotFound))
    }

    /// Reads a password and applies the policy (length limits, Django's validators).
    fn new_password(
        &self,
        source: &mut PasswordSource<'_>,
        stdin: bool,
        username: &str,
        email: &str,
    ) -> anyhow::Result<String> {
        let password = source(stdin, self.max_length)?;
        if let Some(problem) = too_long(&password, self.max_length) {
            bail!("password: {problem}");
        }
        let problems = validate_password(&password, username, email, self.min_length);
        if !problems.is_empty() {
            bail!("password refused:\n  {}", problems.join("\n  "));
        }
        Ok(password)
    }
}

/// Milliseconds since the Unix epoch: the unit of revocation points.
/// The revocation point of a change made now.
fn point_now() -> i64 {
    crate::store::revocation_point(chrono::Utc::now().timestamp_millis())
}

/// Reads a password from standard input: everything up to EOF, one trailing line end
/// removed, at most `max_bytes` (plus the line end).
pub(super) fn password_from_stdin(input: impl Read, max_bytes: usize) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(3);
    input.take(limit).read_to_end(&mut bytes).context("reading the password from standard input")?;
    ensure!(bytes.len() <= max_bytes.saturating_add(2), "password: longer than {max_bytes} bytes");
    let raw = String::from_utf8(bytes).context("the password on standard input is not UTF-8")?;
    let trimmed = raw.strip_suffix('\n').map_or(raw.as_str(), |s| s.strip_suffix('\r').unwrap_or(s));
    ensure!(!trimmed.is_empty(), "no password on standard input");
    Ok(trimmed.to_owned())
}
