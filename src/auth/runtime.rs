//! `AuthRuntime`: the one tokio runtime that owns the user-store pool and runs password
//! hashing, apart from Pingora's proxy runtimes.
//!
//! A sqlx pool's connections belong to the runtime that opened them, and argon2 on a
//! proxy worker would stall proxied traffic, so every piece of identity work is handed
//! to this runtime and its result awaited from wherever the request arrived.

use std::future::Future;

use tokio::runtime::{Builder, Handle, Runtime};

/// Worker threads of the auth runtime (hashing itself runs on its own low-priority threads).
const WORKER_THREADS: usize = 2;

/// Why work handed to the auth runtime produced no result.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The task panicked; the panic was caught and logged by the caller.
    #[error("auth task panicked")]
    Panicked,
    /// The runtime is shutting down and dropped the task.
    #[error("auth runtime is shutting down")]
    ShuttingDown,
}

/// The dedicated identity runtime: a multi-thread tokio runtime with two workers named
/// `nexora-auth`. Dropping it shuts it down without waiting for running tasks.
pub struct AuthRuntime {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl AuthRuntime {
    /// Starts the runtime. Fails only if the OS refuses to create threads.
    pub fn start() -> std::io::Result<AuthRuntime> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("nexora-auth")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(AuthRuntime {
            runtime: Some(runtime),
            handle,
        })
    }

    /// Runs `fut` on the auth runtime and awaits its result from any runtime.
    ///
    /// A panic inside `fut` is resumed in the caller, as if `fut` had run inline; use
    /// [`AuthRuntime::try_run`] where a panic must become an error instead.
    pub async fn run<F, T>(&self, fut: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        match self.handle.spawn(fut).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is gone, so is the process' identity service.
            Err(_) => std::future::pending().await,
        }
    }

    /// Runs `fut` on the auth runtime; a panic or a shutdown becomes a [`RuntimeError`].
    pub async fn try_run<F, T>(&self, fut: F) -> Result<T, RuntimeError>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn(fut).await.map_err(|e| {
            if e.is_panic() {
                RuntimeError::Panicked
            } else {
                RuntimeError::ShuttingDown
            }
        })
    }

    /// Blocks the calling thread on `fut`, run on the auth runtime's workers (CLI commands
    /// and startup). Must not be called from inside an async context.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.handle.block_on(fut)
    }

    /// The runtime's handle, for spawning background loops.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for AuthRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime inside an async context panics; this never blocks.
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_named_thread_and_returns_the_value() {
        let rt = AuthRuntime::start().unwrap();
        let name = rt.block_on(async {
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
                .await
                .unwrap()
        });
        assert_eq!(name.as_deref(), Some("nexora-auth"));
    }

    #[test]
    fn run_from_another_runtime_and_panics_become_errors() {
        let rt = AuthRuntime::start().unwrap();
        let other = Builder::new_current_thread().enable_all().build().unwrap();
        let v = other.block_on(rt.run(async { 21 * 2 }));
        assert_eq!(v, 42);
        let r = other.block_on(rt.try_run(async { panic!("boom") }));
        assert!(matches!(r, Err(RuntimeError::Panicked)));
    }
}
