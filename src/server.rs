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
//!
//! With `listen.tls` the proxy listener terminates TLS (rustls, ALPN h2 and
//! http/1.1) with the certificate and key checked when the config compiled;
//! a build without the `tls` feature refuses `listen.tls` when compiling the
//! config, so it never gets here.
//! Shutdown drains (see [`crate::drain`]); `--upgrade` takes the listening
//! sockets over from a running gateway (Pingora's zero-downtime upgrade).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
#[cfg(feature = "tls")]
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{L4BufferSettings, ListenerConfig};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{Server, ShutdownWatch};
use pingora::services::background::{background_service, BackgroundService};
use pingora::services::listening::Service;
#[cfg(feature = "tls")]
use crate::listener_cert::LiveCertificate;

use crate::admin::{AdminApp, Readiness};
use crate::auth::password::PasswordHasher;
use crate::admission::Revocations;
use crate::auth::{
    listen_for_revocations, poll_revocations, prune_refresh_tokens, AuthRuntime, AuthService, DatabaseLink, RateLimiter,
    RevocationBus,
};
use crate::config::Config;
#[cfg(feature = "tls")]
use crate::config::TlsFiles;
use crate::drain::DrainThenExit;
use crate::echo::EchoApp;
use crate::generation::key_fetch::KeyFetcher;
use crate::generation::remote_keys::RemoteKeys;
use crate::generation::{Generation, Live};
use crate::metrics::Metrics;
use crate::proxy::lane::ProxyApp;
use crate::proxy::Gateway;
use crate::reload::{self, ReloadService, Reloader};

/// Extra services `serve` can run beside the gateway.
#[derive(Debug, Default, Clone)]
pub struct ServeOptions {
    /// Also serve the built-in echo upstream on this address.
    pub echo_upstream: Option<SocketAddr>,
    /// Take the listening sockets over from the running gateway (which is then
    /// sent SIGQUIT) instead of binding them.
    pub upgrade: bool,
}

/// Runs the gateway until it is told to stop. Never returns on success.
pub fn serve(config: Config, options: ServeOptions) -> anyhow::Result<()> {
    let metrics = Metrics::new().context("registering metrics")?;
    let pingora_conf = pingora_conf(&config);
    let proxy_addr = config.listen.proxy.to_string();
    let proxy_tls = config.listen.tls.clone();
    let drain = DrainThenExit {
        in_flight: metrics.requests_in_flight.clone(),
        timeout: config.server.graceful_shutdown_timeout,
    };
    let admin_addr = config.listen.admin.to_string();

    // Balanced upstreams fill their selectors asynchronously; do that on a
    // short-lived runtime before Pingora starts its own.
    let startup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime to build upstreams")?;
    let remote_keys = Arc::new(RemoteKeys::default());
    let first = startup
        .block_on(Generation::build(1, config, &metrics, &remote_keys))
        .context("building the runtime state")?;
    // From here on SIGHUP means "reload", never the default "terminate".
    startup.block_on(async { reload::claim_sighup() }).context("installing the SIGHUP handler")?;
    drop(startup);
    metrics.config_generation.set(1);
    let live = Arc::new(Live::new(first));
    let reloads = background_service("config reload", ReloadService::new(Reloader::new(live.clone(), metrics.clone(), remote_keys.clone())));
    let key_fetcher = background_service(
        "external issuers' keys",
        KeyFetcher::new(live.clone(), remote_keys, metrics.clone()),
    );
    let readiness = Arc::new(Readiness::default());
    let auth = start_identity(&live, &metrics, &readiness)?;

    let opt = Opt { upgrade: options.upgrade, ..Opt::default() };
    if options.upgrade {
        tracing::info!(
            socket = %pingora_conf.upgrade_sock,
            "upgrade: waiting for the running gateway's listening sockets; send it SIGQUIT now"
        );
    }
    let mut server = Server::new_with_opt_and_conf(opt, pingora_conf);
    server.bootstrap();

    let gateway = Gateway::new(live.clone(), metrics.clone(), auth);
    let mut proxy = Service::new("nexora proxy".into(), ProxyApp::new(gateway, &server.configuration));
    let listener = ListenerConfig::tcp(proxy_addr.clone()).l4_buffer(client_buffers());
    match &proxy_tls {
        #[cfg(feature = "tls")]
        Some(tls) => proxy.add_listener(listener.tls(tls_settings(tls, &live)?)),
        #[cfg(not(feature = "tls"))]
        Some(_) => anyhow::bail!("listen.tls: this nexora-gate was built without TLS (cargo feature `tls`)"),
        None => proxy.add_listener(listener),
    }

    let mut admin =
        Service::new("nexora admin".into(), AdminApp::new(metrics.clone(), live.clone(), readiness));
    admin.add_tcp(&admin_addr);
    admin.threads = Some(1);

    let health = background_service("upstream health checks and DNS", HealthChecker { live });

    server.add_service(proxy);
    server.add_service(admin);
    server.add_service(health);
    server.add_service(reloads);
    server.add_service(key_fetcher);
    server.add_service(background_service("graceful drain", drain));
    if let Some(addr) = options.echo_upstream {
        let mut echo = Service::new("echo upstream".into(), EchoApp);
        echo.add_tcp(&addr.to_string());
        echo.threads = Some(1);
        server.add_service(echo);
    }
    tracing::info!(proxy = %proxy_addr, admin = %admin_addr, tls = proxy_tls.is_some(), "nexora-gate serving");
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
    runtime.handle().spawn(poll_revocations(revocations.clone(), link.clone(), live.clone()));
    runtime.handle().spawn(prune_refresh_tokens(link.clone(), live.clone(), metrics.refresh_tokens_pruned.clone()));
    let hasher = PasswordHasher::new(gen.config.auth.argon2)
        .with_max_length(gen.config.auth.password_max_length);
    // The Redis connection managers spawn their reconnecting tasks on the
    // identity runtime, where the endpoints that use them run.
    let _on_identity_runtime = runtime.handle().enter();
    if let Some(redis) = &gen.config.redis {
        runtime.handle().spawn(listen_for_revocations(redis.clone(), revocations.clone()));
    }
    let bus = RevocationBus::new(gen.config.redis.as_ref()).context("redis.url")?;
    let limiter = RateLimiter::new(gen.config.redis.as_ref(), metrics)
        .map_err(|e| anyhow::anyhow!(e))
        .context("the attempt counters")?;
    Ok(AuthService::new(runtime.clone(), link, hasher, revocations, limiter, bus, metrics.clone()))
}

/// The socket buffers of a client connection: none.
///
/// Pingora's default puts a 64 KiB read buffer in front of every accepted
/// socket for as long as the connection lives, which made two thirds of an
/// idle keep-alive connection's memory. Nothing here needs it: the lane reads
/// whole request heads into a buffer of its own, only while bytes are there
/// (`proxy/lane/head.rs`), and Pingora's HTTP/1 session reads into its own
/// buffers; TLS reads records into rustls's buffers. Writes are gathered by
/// the proxy's own stream (`proxy/lane/client_stream.rs`), whose buffer
/// exists only while a response is written, instead of Pingora's, which
/// would stay allocated on every idle connection.
fn client_buffers() -> L4BufferSettings {
    L4BufferSettings::unbuffered()
}

/// The proxy listener's TLS: the certificate and key of the generation in
/// force (compiled and checked by the config, never re-read here; a reload
/// brings a renewed pair), HTTP/2 offered before HTTP/1.1.
#[cfg(feature = "tls")]
fn tls_settings(tls: &TlsFiles, live: &Arc<Live>) -> anyhow::Result<TlsSettings> {
    let cert = tls.cert.to_string_lossy();
    let key = tls.key.to_string_lossy();
    // The paths only name the listener in Pingora's messages: the resolver below serves.
    let mut settings = TlsSettings::intermediate(&cert, &key).context("TLS settings for the proxy listener")?;
    settings.set_cert_resolver(Arc::new(LiveCertificate::new(live.clone())));
    settings.enable_h2();
    Ok(settings)
}

/// Pingora settings from our `server:` section.
///
/// On a graceful stop Pingora closes the listeners, keeps the runtimes up for
/// `grace_period_seconds`, then gives them `graceful_shutdown_timeout_seconds`
/// to exit, dropping the tasks still running. The drain window is therefore
/// the grace period: it is our `graceful_shutdown_timeout` (rounded up to whole
/// seconds), and [`DrainThenExit`] ends it as soon as nothing is in flight.
fn pingora_conf(config: &Config) -> ServerConf {
    let s = &config.server;
    let port = config.listen.proxy.port();
    let drain_seconds = s.graceful_shutdown_timeout.as_secs()
        + u64::from(s.graceful_shutdown_timeout.subsec_nanos() > 0);
    ServerConf {
        threads: s.threads,
        work_stealing: s.work_stealing,
        upstream_keepalive_pool_size: s.upstream_keepalive_pool,
        grace_period_seconds: Some(drain_seconds),
        graceful_shutdown_timeout_seconds: Some(1),
        // Distinct per listener so several gateways can run on one machine.
        pid_file: format!("/tmp/nexora-gate-{port}.pid"),
        upgrade_sock: format!("/tmp/nexora-gate-{port}.upgrade.sock"),
        ..ServerConf::default()
    }
}

/// Runs each health-checked upstream's check, and each named upstream's DNS
/// lookup, when its interval is due.
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
                        upstream.refresh_dns_if_due().await;
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
