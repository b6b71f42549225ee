//! Process lifecycle: SIGTERM drains requests in flight and then exits (new
//! connections refused), an idle gateway stops at once, and `serve --upgrade`
//! takes the listening sockets over from a running gateway without a refused
//! or failed request.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

/// The test config with `server.graceful_shutdown_timeout` set.
fn yaml_with_shutdown_timeout(proxy: u16, admin: u16, upstream: &Upstream, timeout: &str) -> String {
    config_yaml(proxy, admin, &upstream.addr, SHOP_ROUTES, "").replacen(
        "server:\n  threads: 1\n",
        &format!("server:\n  threads: 1\n  graceful_shutdown_timeout: {timeout}\n"),
        1,
    )
}

/// Polls `cond` every 20 ms until it holds (true) or `within` passes (false).
fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn sigterm_lets_a_slow_request_finish_then_refuses_and_exits() {
    let up = Upstream::start(Behaviour::Slow(Duration::from_millis(1500)));
    let (proxy, admin) = (free_port(), free_port());
    let mut gw = Gateway::start_yaml(&yaml_with_shutdown_timeout(proxy, admin, &up, "20s"), proxy, admin);
    let url = format!("{}/api/products/slow", gw.url);
    let slow = thread::spawn(move || Reply::from(agent().get(&url).call()));
    assert!(eventually(Duration::from_secs(5), || !up.seen().is_empty()), "the slow request never reached the upstream");

    gw.signal("TERM");
    // The listener closes at once; the request already in flight is not cut.
    assert!(
        eventually(Duration::from_secs(1), || TcpStream::connect(gw.proxy_addr()).is_err()),
        "the proxy port still accepts after SIGTERM"
    );
    assert!(gw.wait_exit(Duration::from_millis(200)).is_none(), "exited with a request in flight");
    let reply = slow.join().unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.contains("/api/products/slow"), "{reply:?}");

    // Then the process ends by itself, well before the 20 s drain limit.
    let status = gw.wait_exit(Duration::from_secs(10)).unwrap_or_else(|| panic!("still running; log:\n{}", gw.log()));
    assert!(status.success(), "{status:?}");
    assert!(gw.log().contains("drained; exiting"), "{}", gw.log());
}

#[test]
fn an_idle_gateway_stops_without_waiting_out_the_drain_limit() {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let mut gw = Gateway::start_yaml(&yaml_with_shutdown_timeout(proxy, admin, &up, "60s"), proxy, admin);
    assert_eq!(gw.get("/api/products/1", None, &[]).status, 200);
    gw.signal("TERM");
    let status = gw.wait_exit(Duration::from_secs(10)).unwrap_or_else(|| panic!("still running; log:\n{}", gw.log()));
    assert!(status.success(), "{status:?}");
}

#[test]
fn upgrade_takes_the_sockets_over_without_failing_a_request() {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = yaml_with_shutdown_timeout(proxy, admin, &up, "10s");
    let mut old = Gateway::start_yaml(&yaml, proxy, admin);

    // Clients keep sending, each request on a new connection, all through the upgrade.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let client = {
        let (stop, ok, failed, url) = (stop.clone(), ok.clone(), failed.clone(), old.url.clone());
        thread::spawn(move || {
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .get(&format!("{url}/api/products/1"))
                    .set("Connection", "close")
                    .call();
                match r {
                    Ok(resp) if resp.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        errors.push(format!("{other:?}"));
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                thread::sleep(Duration::from_millis(20));
            }
            errors
        })
    };

    let new = Gateway::spawn_yaml(&yaml, proxy, admin, &Launch { args: &["--upgrade"], ..Launch::default() });
    assert!(
        eventually(Duration::from_secs(20), || new.log().contains("send it SIGQUIT now")),
        "the new process never got ready to take over; log:\n{}",
        new.log()
    );
    old.signal("QUIT");
    let status = old.wait_exit(Duration::from_secs(30)).unwrap_or_else(|| panic!("old process still running; log:\n{}", old.log()));
    assert!(status.success(), "{status:?}\n{}", old.log());
    // Pingora's own line: the sockets went over the upgrade socket, not rebound.
    assert!(old.log().contains("listener sockets sent"), "{}", old.log());
    assert!(old.log().contains("drained; exiting"), "{}", old.log());

    // Only the new process is left, and it answers on the same ports.
    let served_before = ok.load(Ordering::Relaxed);
    assert!(eventually(Duration::from_secs(5), || ok.load(Ordering::Relaxed) >= served_before + 10), "no requests served after the handover");
    assert_eq!(agent().get(&format!("{}/readyz", new.admin_url)).call().unwrap().status(), 200);
    stop.store(true, Ordering::Relaxed);
    let errors = client.join().unwrap();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed during the upgrade: {errors:#?}");
    assert!(new.log().contains("nexora-gate serving"), "{}", new.log());
}
