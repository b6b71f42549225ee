//! Assembles and runs the Pingora server: the proxy service on the public
//! listener (with the identity endpoints), the admin service on its own, the
//! upstream health checker, the config reloader (file watch and SIGHUP,
//! see [`crate::reload`]), and (for demos) the built-in echo upstream.
//!
//! Identity work lives on its own runtime ([`AuthRuntime`]): the user-store
//! link (connect, migrate when `database.migrate_on_start`, ping for
//! `/readyz`) and the revocation poller run there. A database that is down
//! does not stop the gateway from starting.
//!
//! Pingora owns its runtimes: `run_forever` is called from plain `main`, never
//! from inside a tokio runtime. Its settings are built from our config, not
//! parsed from argv (Pingora's `-c` would clash with ours).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{Server, ShutdownWatch};
use pingora::services::background::{background_service, BackgroundService};
use pingora::services::listening::Service;

use crate::admin::{AdminApp, Readiness};
use crate::auth::password::PasswordHasher;
use crate::auth::{AuthRuntime, AuthService, DatabaseLink, Revocations};
use crate::config::Config;
use crate::echo::EchoApp;
use crate::generation::{Generation, Live};
use crate::metrics::Metrics;
use crate::proxy::Gateway;
use crate::reload::{self, ReloadService, Reloader};

/// Extra services `serve` can run beside the gateway.
#[derive(Debug, Default, Clone)]
pub struct ServeOptions {
    /// Also serve the built-in echo upstream on this address.
    pub echo_upstream: Option<SocketAddr>,
}

/// Runs the gateway until it is told to stop. Never returns on success.
pub fn serve(config: Config, options: ServeOptions) -> anyhow::Result<()> {
    let metrics = Metrics::new().context("registering metrics")?;
    let pingora_conf = pingora_conf(&config);
    let proxy_addr = config.listen.proxy.to_string();
    let admin_addr = config.listen.admin.to_string();

    // Balanced upstreams fill their selectors asynchronously; do that on a
    // short-lived runtime before Pingora starts its own.
    let startup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime to build upstreams")?;
    let first = startup
        .block_on(Generation::build(1, config, &metrics))
        .context("building the runtime state")?;
    // From here on SIGHUP means "reload", never the default "terminate".
    startup.block_on(async { reload::claim_sighup() }).context("installing the SIGHUP handler")?;
    drop(startup);
    metrics.config_generation.set(1);
    let live = Arc::new(Live::new(first));
    let reloads = background_service("config reload", ReloadService::new(Reloader::new(live.clone(), metrics.clone())));
    let readiness = Arc::new(Readiness::default());
    let auth = start_identity(&live, &metrics, &readiness)?;

    let mut server = Server::new_with_opt_and_conf(Opt::default(), pingora_conf);
    server.bootstrap();

    let mut proxy = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        Gateway::new(live.clone(), metrics.clone(), auth),
        "nexora proxy",
    );
    proxy.add_tcp(&proxy_addr);

    let mut admin =
        Service::new("nexora admin".into(), AdminApp::new(metrics.clone(), live.clone(), readiness));
    admin.add_tcp(&admin_addr);
    admin.threads = Some(1);

    let health = background_service("upstream health checks", HealthChecker { live });

    server.add_service(proxy);
    server.add_service(admin);
    server.add_service(health);
    server.add_service(reloads);
    if let Some(addr) = options.echo_upstream {
        let mut echo = Service::new("echo upstream".into(), EchoApp);
        echo.add_tcp(&addr.to_string());
        echo.threads = Some(1);
        server.add_service(echo);
    }
    tracing::info!(proxy = %proxy_addr, admin = %admin_addr, "nexora-gate serving");
    server.run_forever()
}

/// How long `serve` waits for the first connection to the user store before starting
/// anyway (the link keeps trying in the background).
const FIRST_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the identity runtime, the user-store link and the revocation poller, and
/// builds the service the proxy hands identity requests to.
fn start_identity(
    live: &Arc<Live>,
    metrics: &Metrics,
    readiness: &Arc<Readiness>,
) -> anyhow::Result<AuthService> {
    let gen = live.current();
    let runtime = Arc::new(AuthRuntime::start().context("starting the identity runtime")?);
    let link = Arc::new(DatabaseLink::new(gen.config.database.clone(), readiness.clone()));
    let first = runtime.block_on(async { tokio::time::timeout(FIRST_PROBE_TIMEOUT, link.probe()).await });
    match first {
        Ok(Ok(())) => tracing::info!("user store reachable"),
        Ok(Err(e)) => tracing::warn!(error = %e, "user store not reachable yet; identity endpoints answer 503 until it is"),
        Err(_) => tracing::warn!("user store did not answer in time; identity endpoints answer 503 until it does"),
    }
    let revocations = Arc::new(Revocations::new());
    runtime.handle().spawn(link.clone().maintain());
    runtime.handle().spawn(revocations.clone().poll_forever(link.clone(), live.clone()));
    let hasher = PasswordHasher::new(gen.config.auth.argon2)
        .with_max_length(gen.config.auth.password_max_length);
    Ok(AuthService::new(runtime, link, hasher, revocations, metrics.clone()))
}

/// Pingora settings from our `server:` section.
fn pingora_conf(config: &Config) -> ServerConf {
    let s = &config.server;
    let port = config.listen.proxy.port();
    ServerConf {
        threads: s.threads,
        work_stealing: s.work_stealing,
        upstream_keepalive_pool_size: s.upstream_keepalive_pool,
        graceful_shutdown_timeout_seconds: Some(s.graceful_shutdown_timeout.as_secs()),
        grace_period_seconds: Some(0),
        // Distinct per listener so several gateways can run on one machine.
        pid_file: format!("/tmp/nexora-gate-{port}.pid"),
        upgrade_sock: format!("/tmp/nexora-gate-{port}.upgrade.sock"),
        ..ServerConf::default()
    }
}

/// Runs each health-checked upstream's check when its interval is due.
struct HealthChecker {
    live: Arc<Live>,
}

#[async_trait]
impl BackgroundService for HealthChecker {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {
                    let gen = self.live.current();
                    for upstream in &gen.upstreams {
                        upstream.health_check_if_due().await;
                    }
                }
            }
        }
    }
}

/// Runs only the built-in echo upstream (the `echo` command).
pub fn serve_echo(addr: SocketAddr) -> anyhow::Result<()> {
    let conf = ServerConf {
        threads: 1,
        pid_file: format!("/tmp/nexora-echo-{}.pid", addr.port()),
        upgrade_sock: format!("/tmp/nexora-echo-{}.upgrade.sock", addr.port()),
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(Opt::default(), conf);
    server.bootstrap();
    let mut echo = Service::new("echo upstream".into(), EchoApp);
    echo.add_tcp(&addr.to_string());
    server.add_service(echo);
    eprintln!("echo upstream listening on {addr}");
    server.run_forever()
}
