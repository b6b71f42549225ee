//! The system suites: slow, or needing the machine itself — the soak, the
//! fault suite (a private MariaDB stopped and started, a small tmpfs mounted:
//! root), scale-out (three replicas on one MariaDB) and the fleet behind a
//! real HAProxy with Redis. Same harness as the
//! integration suite (`tests/it/common`). `cargo test` leaves this target out
//! so it stays quick; `scripts/test.sh` runs it: `cargo test --test system`.
//! A suite whose fault or database it cannot set up prints `skipped:` with
//! the reason (and fails instead under CI).

// Tests may unwrap: a panic there is a failure with a location.
#![allow(clippy::unwrap_used)]

#[path = "../it/common/mod.rs"]
mod common;

mod faults;
mod fleet;
mod scaleout;
mod soak;
