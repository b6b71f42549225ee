//! Repository tests, run against SQLite in every `cargo test` and against MySQL/MariaDB
//! when `NEXORA_TEST_MYSQL_URL` is set (e.g. `mysql://root@127.0.0.1:3306/test`; `.ci/run`
//! sets it). Each case is one `async fn(Store)`; [`both_dialects!`] makes a
//! `sqlite::<case>` and a `mysql::<case>` test of it. Every MySQL test gets a fresh,
//! uniquely named database that is dropped afterwards, so parallel tests never collide.

mod faults;
mod harness;
mod infra;
mod refresh_tokens;
mod spelling;
mod transient;
mod users;

pub(super) use harness::{on_mysql, on_sqlite};

/// Declares one test per dialect for each named case (`path::to::case_fn`).
macro_rules! both_dialects {
    ($($name:ident => $case:path),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_sqlite($case).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_mysql($case).await;
                }
            )*
        }
    };
}

both_dialects! {
    migrate_is_idempotent => super::infra::migrate_is_idempotent,
    closed_pool_is_unavailable => super::infra::closed_pool_is_unavailable,
    create_and_read_back => super::users::create_and_read_back,
    parallel_creates_of_one_username => super::users::parallel_creates_of_one_username,
    emails_are_unique_when_present => super::users::emails_are_unique_when_present,
    update_moves_the_revocation_point => super::users::update_moves_the_revocation_point,
    set_password_hash_revokes_on_change => super::users::set_password_hash_revokes_on_change,
    revoke_tokens_and_points => super::users::revoke_tokens_and_points,
    touch_and_list => super::users::touch_and_list,
    imported_users_keep_their_ids => super::users::imported_users_keep_their_ids,
    over_long_fields_are_refused_alike => super::users::over_long_fields_are_refused_alike,
    username_spellings => super::spelling::username_spellings,
    email_spellings => super::spelling::email_spellings,
    rotate_reports_why => super::refresh_tokens::rotate_reports_why,
    legacy_used_rows_stay_used => super::refresh_tokens::legacy_used_rows_stay_used,
    rotate_then_reuse => super::refresh_tokens::rotate_then_reuse,
    parallel_rotates_of_one_jti => super::refresh_tokens::parallel_rotates_of_one_jti,
    revocations => super::refresh_tokens::revocations,
    check_does_not_consume => super::refresh_tokens::check_does_not_consume,
    pruning_removes_expired_rows_in_batches_and_nothing_live => super::refresh_tokens::pruning_removes_expired_rows_in_batches_and_nothing_live,
}
