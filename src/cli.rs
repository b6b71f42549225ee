//! The command line: clap types and dispatch to one function per command.
//!
//! Exit codes (docs/REFERENCE.md#commands): 0 success, 1 invalid input or config, 2 usage
//! error (clap's own). Messages go to stderr; results of `check`, `explain`,
//! `token mint` go to stdout so they can be piped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config;
pub mod demo;
pub mod explain;

mod user;
use crate::server::{self, ServeOptions};
use crate::token;

/// Nexora Gate: an authorization gateway in front of HTTP backends.
#[derive(Debug, Parser)]
#[command(name = "nexora-gate", version, about)]
pub struct Cli {
    /// Config file.
    #[arg(long, short = 'c', global = true, env = "NEXORA_CONFIG", default_value = "config/gateway.yaml")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: proxy listener, auth endpoints, admin listener.
    Serve(ServeArgs),
    /// Zero-setup tour: SQLite store, demo users, echo upstream, curl lines to paste.
    Demo(DemoArgs),
    /// Validate the config and policy and run the policy's own tests.
    Check,
    /// Show how the policy decides one request.
    Explain(ExplainArgs),
    /// Token tools.
    Token {
        /// Token command.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write a new signing key (pair) in the form the config reads.
    Keygen(KeygenArgs),
    /// Serve only the built-in echo upstream (for trying the gateway out).
    Echo(EchoArgs),
    /// Apply the schema migrations to the configured database (`database.url`).
    Migrate,
    /// User administration without the HTTP API (e.g. bootstrapping the first ADMIN).
    User {
        /// User command.
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// `user` commands. Users are named by `--username` (any spelling of it) or `--id`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the terminal (asked twice) or, with
    /// --password-stdin, from standard input.
    Create(UserCreateArgs),
    /// List users, ordered by id, tab-separated.
    List(UserListArgs),
    /// Change a user's role (their access tokens stop working within seconds).
    SetRole(UserSetRoleArgs),
    /// Deactivate a user and revoke their tokens.
    Disable(UserTarget),
    /// Reactivate a user.
    Enable(UserTarget),
    /// Set a new password and revoke the user's tokens.
    SetPassword(UserSetPasswordArgs),
    /// Import users from an export of Django's accounts_user table (CSV or JSON), keeping
    /// ids and password hashes (pbkdf2_sha256 / argon2 are rehashed to argon2id at the
    /// next successful login).
    ImportDjango(ImportDjangoArgs),
}

/// Which user a command is about.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct UserTarget {
    /// The user's name (canonicalised: case, width and surrounding spaces do not matter).
    #[arg(long)]
    pub username: Option<String>,
    /// The user's id.
    #[arg(long)]
    pub id: Option<i64>,
}

/// `user create` arguments.
#[derive(Debug, Args)]
pub struct UserCreateArgs {
    /// Username (letters, digits and @ . + - _; at most 150 characters).
    #[arg(long)]
    pub username: String,
    /// Email address (may be empty).
    #[arg(long, default_value = "")]
    pub email: String,
    /// One of the configured roles, e.g. ADMIN.
    #[arg(long)]
    pub role: String,
    /// Phone number.
    #[arg(long, default_value = "")]
    pub phone: String,
    /// Postal address.
    #[arg(long, default_value = "")]
    pub address: String,
    /// Read the password from standard input (one trailing newline is removed).
    #[arg(long)]
    pub password_stdin: bool,
}

/// `user list` arguments.
#[derive(Debug, Args)]
pub struct UserListArgs {
    /// At most this many users.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Skip this many users first.
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
}

/// `user set-role` arguments.
#[derive(Debug, Args)]
pub struct UserSetRoleArgs {
    /// The user.
    #[command(flatten)]
    pub target: UserTarget,
    /// The new role (one of the configured roles).
    #[arg(long)]
    pub role: String,
}

/// `user set-password` arguments.
#[derive(Debug, Args)]
pub struct UserSetPasswordArgs {
    /// The user.
    #[command(flatten)]
    pub target: UserTarget,
    /// Read the password from standard input (one trailing newline is removed).
    #[arg(long)]
    pub password_stdin: bool,
}

/// `user import-django` arguments.
#[derive(Debug, Args)]
pub struct ImportDjangoArgs {
    /// The export: CSV with a header row, or JSON (`manage.py dumpdata accounts.user`).
    pub file: PathBuf,
    /// File format (default: JSON if the file starts with `[`, else CSV).
    #[arg(long, value_enum)]
    pub format: Option<ImportFileFormat>,
    /// Check the file and report what would be imported, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// Formats `user import-django` reads.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFileFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// JSON list of rows or dumpdata records.
    Json,
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Also run the built-in echo upstream on this address (quick start).
    #[arg(long, value_name = "ADDR")]
    pub echo_upstream: Option<SocketAddr>,
    /// Zero-downtime upgrade: take the listening sockets over from the gateway
    /// running with the same config, then send that one SIGQUIT.
    #[arg(long)]
    pub upgrade: bool,
}

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Proxy listener.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Admin listener (metrics, health).
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
    /// The built-in echo upstream.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub echo: SocketAddr,
    /// Keep the config and SQLite file here (default: a new temp directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// `explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Request method, e.g. GET.
    pub method: String,
    /// Request path as a client would send it (it is normalised first).
    pub path: String,
    /// Decide as a user with this role.
    #[arg(long, conflicts_with = "anonymous")]
    pub role: Option<String>,
    /// Decide for a client without a token (the default).
    #[arg(long)]
    pub anonymous: bool,
    /// The user's id, for `owner:` rules.
    #[arg(long, requires = "role")]
    pub user_id: Option<String>,
    /// Host header of the request.
    #[arg(long)]
    pub host: Option<String>,
    /// Decide for a token of this external issuer (`issuers[].name`), whose
    /// claims `--claims` gives.
    #[arg(long, requires = "claims", conflicts_with_all = ["role", "anonymous"])]
    pub issuer: Option<String>,
    /// The claims of that issuer's token, as a JSON object, e.g.
    /// '{"sub":"u1","aud":"api","realm_access":{"roles":["ADMIN"]}}'.
    #[arg(long, requires = "issuer")]
    pub claims: Option<String>,
}

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print an access token signed with the configured key.
    Mint(MintArgs),
}

/// `token mint` arguments.
#[derive(Debug, Args)]
pub struct MintArgs {
    /// The `user_id` claim.
    #[arg(long)]
    pub user_id: String,
    /// The `username` claim.
    #[arg(long)]
    pub username: String,
    /// The `role` claim (one of the configured roles).
    #[arg(long)]
    pub role: String,
    /// Lifetime, e.g. 60m (default: tokens.access_ttl).
    #[arg(long, value_parser = parse_ttl)]
    pub ttl: Option<Duration>,
}

/// `keygen` arguments.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Algorithm of the new key.
    #[arg(long, value_enum)]
    pub alg: KeyAlg,
    /// Directory to write the key files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// Algorithms `keygen` can produce.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[allow(clippy::upper_case_acronyms)]
pub enum KeyAlg {
    /// HMAC-SHA256 shared secret.
    #[value(name = "HS256")]
    HS256,
    /// HMAC-SHA384 shared secret.
    #[value(name = "HS384")]
    HS384,
    /// HMAC-SHA512 shared secret.
    #[value(name = "HS512")]
    HS512,
    /// RSA PKCS#1 v1.5 with SHA-256.
    #[value(name = "RS256")]
    RS256,
    /// ECDSA P-256 with SHA-256.
    #[value(name = "ES256")]
    ES256,
    /// Ed25519.
    #[value(name = "EdDSA")]
    EdDSA,
}

impl From<KeyAlg> for token::Algorithm {
    fn from(alg: KeyAlg) -> Self {
        match alg {
            KeyAlg::HS256 => token::Algorithm::HS256,
            KeyAlg::HS384 => token::Algorithm::HS384,
            KeyAlg::HS512 => token::Algorithm::HS512,
            KeyAlg::RS256 => token::Algorithm::RS256,
            KeyAlg::ES256 => token::Algorithm::ES256,
            KeyAlg::EdDSA => token::Algorithm::EdDSA,
        }
    }
}

/// `echo` arguments.
#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    config::parse_duration(s).map_err(|e| e.to_string())
}

/// Runs one parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let Cli { config, command } = cli;
    let outcome = match command {
        Command::Serve(args) => serve(&config, args),
        Command::Demo(args) => demo(args),
        Command::Check => return check(&config),
        Command::Explain(args) => explain::run(&config, args),
        Command::Token { command: TokenCommand::Mint(args) } => mint(&config, args),
        Command::Keygen(args) => keygen(args),
        Command::Echo(args) => server::serve_echo(args.listen),
        Command::Migrate => user::migrate(&config),
        Command::User { command } => user::run(&config, command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Loads and compiles the config, printing every error as FILE:LINE:COL.
pub fn load_config(path: &std::path::Path) -> anyhow::Result<config::Config> {
    match config::load(path) {
        Ok(config) => Ok(config),
        Err(errors) => {
            for e in errors.iter() {
                eprintln!("{e}");
            }
            bail!("{} problem(s) in {}", errors.len(), path.display())
        }
    }
}

fn serve(path: &std::path::Path, args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs { echo_upstream, upgrade } = args;
    let config = load_config(path)?;
    crate::logging::init(&config.logging);
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    server::serve(config, ServeOptions { echo_upstream, upgrade })
}

fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs { listen, admin, echo, data_dir } = args;
    crate::cli::demo::run(crate::cli::demo::DemoOptions { listen, admin, echo, data_dir })
}

fn check(path: &std::path::Path) -> ExitCode {
    match explain::check(path) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn mint(path: &std::path::Path, args: MintArgs) -> anyhow::Result<()> {
    let MintArgs { user_id, username, role, ttl } = args;
    let config = load_config(path)?;
    if config.roles.id(&role).is_none() {
        bail!("unknown role {role:?}: the config's roles are {:?}", config.roles.names());
    }
    let keys = std::sync::Arc::new(token::Keys::new(&config.tokens).context("loading keys")?);
    let issuer = token::Issuer::new(keys, &config.tokens);
    let subject = token::Subject { user_id: &user_id, username: &username, role: &role, revoked_after_ms: 0 };
    let token = issuer.mint_access(&subject, crate::token::unix_now(), ttl)?;
    println!("{token}");
    Ok(())
}

fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let KeygenArgs { alg, out } = args;
    let written = token::keygen(alg.into(), &out).context("writing the key")?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
