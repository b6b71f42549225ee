//! The `user` commands against an in-memory SQLite store, and their argument parsing.

use crate::auth::password::Argon2Params;
use clap::Parser;

use super::*;
use crate::cli::{Cli, Command, UserCreateArgs, UserListArgs};

async fn admin() -> Admin {
    let store = Store::connect("sqlite::memory:", 2).await.unwrap();
    store.migrate().await.unwrap();
    Admin {
        store,
        hasher: PasswordHasher::new(Argon2Params::default()),
        roles: vec!["ADMIN".into(), "SELLER".into(), "CUSTOMER".into()],
        min_length: 8,
        max_length: 4096,
    }
}

fn create(username: &str, role: &str) -> UserCommand {
    UserCommand::Create(UserCreateArgs {
        username: username.into(),
        email: format!("{username}@example.com"),
        role: role.into(),
        phone: String::new(),
        address: String::new(),
        password_stdin: true,
    })
}

fn by_name(name: &str) -> UserTarget {
    UserTarget { username: Some(name.into()), id: None }
}

fn fixed(password: &'static str) -> impl FnMut(bool, usize) -> anyhow::Result<String> {
    move |_, _| Ok(password.to_owned())
}

#[tokio::test]
async fn create_list_and_refuse_duplicates() {
    let a = admin().await;
    let out = a.execute(create("root", "ADMIN"), &mut fixed("Str0ng-Passw0rd!")).await.unwrap();
    assert_eq!(out, "created user 1 (root) with role ADMIN\n");
    let user = a.store.users().by_username("root").await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(a.hasher.verify("Str0ng-Passw0rd!", Some(&user.password_hash)).await.unwrap().ok);

    let dup = a.execute(create("ROOT", "ADMIN"), &mut fixed("Str0ng-Passw0rd!")).await.unwrap_err();
    assert_eq!(dup.to_string(), "a user with that username already exists");
    let list = a.execute(UserCommand::List(UserListArgs { limit: 10, offset: 0 }), &mut fixed("")).await.unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("1\troot\troot@example.com\tADMIN\ttrue\t"), "{}", lines[1]);
}

#[tokio::test]
async fn create_checks_role_name_and_password_policy() {
    let a = admin().await;
    let weak = a.execute(create("ann", "CUSTOMER"), &mut fixed("123")).await.unwrap_err().to_string();
    assert_eq!(
        weak,
        "password refused:\n  This password is too short. It must contain at least 8 characters.\n  \
         This password is too common.\n  This password is entirely numeric."
    );
    let role = a.execute(create("ann", "SUPERUSER"), &mut fixed("Str0ng-Passw0rd!")).await.unwrap_err().to_string();
    assert!(role.starts_with("unknown role \"SUPERUSER\""), "{role}");
    let name =
        a.execute(create("ann smith", "CUSTOMER"), &mut fixed("Str0ng-Passw0rd!")).await.unwrap_err().to_string();
    assert!(name.starts_with("username: Enter a valid username."), "{name}");
    let long = a.execute(create("ann", "CUSTOMER"), &mut |_, _| Ok("x".repeat(4097))).await.unwrap_err().to_string();
    assert_eq!(long, "password: Ensure this field has no more than 4096 bytes.");
    assert!(a.store.users().list(10, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn set_role_disable_enable_and_set_password() {
    let a = admin().await;
    a.execute(create("sam", "CUSTOMER"), &mut fixed("Str0ng-Passw0rd!")).await.unwrap();
    let out = a
        .execute(
            UserCommand::SetRole(crate::cli::UserSetRoleArgs { target: by_name(" SAM "), role: "SELLER".into() }),
            &mut fixed(""),
        )
        .await
        .unwrap();
    assert_eq!(out, "user 1 (sam) now has role SELLER\n");
    let sam = a.store.users().by_id(1).await.unwrap().unwrap();
    assert_eq!(sam.role, "SELLER");
    assert!(sam.revoked_after > 0);

    a.store.refresh_tokens().insert(&"a".repeat(32), 1, &"a".repeat(32), i64::MAX, 1).await.unwrap();
    let out = a.execute(UserCommand::Disable(by_name("sam")), &mut fixed("")).await.unwrap();
    assert_eq!(out, "user 1 (sam) disabled; 1 refresh token(s) revoked\n");
    assert!(!a.store.users().by_id(1).await.unwrap().unwrap().is_active);
    let out = a.execute(UserCommand::Enable(UserTarget { username: None, id: Some(1) }), &mut fixed("")).await.unwrap();
    assert_eq!(out, "user 1 (sam) enabled\n");

    let set = crate::cli::UserSetPasswordArgs { target: by_name("sam"), password_stdin: true };
    a.execute(UserCommand::SetPassword(set), &mut fixed("An0ther-Passw0rd")).await.unwrap();
    let sam = a.store.users().by_id(1).await.unwrap().unwrap();
    assert!(a.hasher.verify("An0ther-Passw0rd", Some(&sam.password_hash)).await.unwrap().ok);

    let missing = a.execute(UserCommand::Disable(by_name("nobody")), &mut fixed("")).await.unwrap_err();
    assert_eq!(missing.to_string(), "no such user");
}

#[tokio::test]
async fn import_django_keeps_ids_and_hashes_and_can_be_rerun() {
    let a = admin().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.csv");
    let hash = "pbkdf2_sha256$1000$nexoraReferenceSalt01A$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=";
    let csv = format!(
        "id,password,last_login,username,email,is_active,date_joined,role,phone,address\n\
         5,{hash},,alice_x,alice_x@example.com,1,2023-05-06 07:08:09.000000,ADMIN,,\n\
         9,!unusable,,bob,,0,2023-05-06 07:08:09,CUSTOMER,,\n\
         11,{hash},,carol,,1,2023-05-06 07:08:09,SUPERUSER,,\n\
         12,{hash},,ALICE_X,,1,2023-05-06 07:08:09,CUSTOMER,,\n"
    );
    std::fs::write(&file, csv).unwrap();
    let import = |dry_run| UserCommand::ImportDjango(ImportDjangoArgs { file: file.clone(), format: None, dry_run });

    let dry = a.execute(import(true), &mut fixed("")).await.unwrap_err();
    assert!(dry.to_string().starts_with("2 record(s) refused"), "{dry}");
    assert!(a.store.users().list(10, 0).await.unwrap().is_empty(), "a dry run writes nothing");

    let err = a.execute(import(false), &mut fixed("")).await.unwrap_err();
    assert!(err.to_string().starts_with("2 record(s) refused"), "{err}");
    let alice = a.store.users().by_id(5).await.unwrap().unwrap();
    assert_eq!(
        (alice.username.as_str(), alice.password_hash.as_str(), alice.role.as_str()),
        ("alice_x", hash, "ADMIN")
    );
    assert!(!a.store.users().by_id(9).await.unwrap().unwrap().is_active);
    // The legacy password works and asks to be rehashed.
    let v = a.hasher.verify("NexoraTest#2024", Some(&alice.password_hash)).await.unwrap();
    assert!(v.ok && v.needs_rehash);

    // Fixed file: imported rows are skipped, the rest goes in.
    let fixed_csv =
        std::fs::read_to_string(&file).unwrap().replace("SUPERUSER", "SELLER").replace(",ALICE_X,", ",alice_y,");
    std::fs::write(&file, fixed_csv).unwrap();
    let out = a.execute(import(false), &mut fixed("")).await.unwrap();
    assert_eq!(out, "imported 2 user(s); 2 already present; 0 refused\n");
    assert_eq!(a.store.users().list(10, 0).await.unwrap().len(), 4);
    let next = a.execute(create("dave", "CUSTOMER"), &mut fixed("Str0ng-Passw0rd!")).await.unwrap();
    assert_eq!(next, "created user 13 (dave) with role CUSTOMER\n");
}

#[test]
fn stdin_password_loses_one_line_end_only() {
    assert_eq!(password_from_stdin(&b"s3cret pass\n"[..], 100).unwrap(), "s3cret pass");
    assert_eq!(password_from_stdin(&b"s3cret\r\n"[..], 100).unwrap(), "s3cret");
    assert_eq!(password_from_stdin(&b" spaced \n\n"[..], 100).unwrap(), " spaced \n");
    assert!(password_from_stdin(&b"\n"[..], 100).is_err());
    assert!(password_from_stdin(&b""[..], 100).is_err());
    let err = password_from_stdin(&[b'a'; 200][..], 100).unwrap_err();
    assert_eq!(err.to_string(), "password: longer than 100 bytes");
}

#[test]
fn user_commands_parse() {
    let cli = Cli::try_parse_from([
        "nexora-gate",
        "user",
        "create",
        "--username",
        "root",
        "--email",
        "r@x.io",
        "--role",
        "ADMIN",
        "--password-stdin",
    ])
    .unwrap();
    assert!(matches!(
        cli.command,
        Command::User { command: UserCommand::Create(UserCreateArgs { password_stdin: true, .. }) }
    ));
    assert!(
        Cli::try_parse_from(["nexora-gate", "user", "set-role", "--role", "ADMIN"]).is_err(),
        "a target is required"
    );
    assert!(
        Cli::try_parse_from(["nexora-gate", "user", "disable", "--username", "a", "--id", "1"]).is_err(),
        "one target only"
    );
    assert!(Cli::try_parse_from([
        "nexora-gate",
        "user",
        "import-django",
        "users.json",
        "--format",
        "json",
        "--dry-run"
    ])
    .is_ok());
    assert!(Cli::try_parse_from(["nexora-gate", "migrate"]).is_ok());
}
