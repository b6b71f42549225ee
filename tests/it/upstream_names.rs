//! Upstream servers given by host name (`HOST:PORT`): looked up when the
//! config is loaded and every `dns_refresh`; a name that resolves to nothing
//! stops `serve` with its name in the message, and `check` never needs DNS.

use std::time::Duration;

use crate::common::*;

#[test]
fn a_server_named_by_host_name_is_proxied_to() {
    let up = Upstream::start(Behaviour::Ok);
    let port = up.addr.rsplit_once(':').unwrap().1.to_owned();
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &format!("localhost:{port}"), SHOP_ROUTES, "")
        .replace("    read_timeout: 2s\n", "    read_timeout: 2s\n    dns_refresh: 1s\n");
    assert!(yaml.contains("dns_refresh: 1s") && yaml.contains("localhost:"), "{yaml}");
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    for _ in 0..3 {
        assert_eq!(gw.get("/api/products/1", None, &[]).status, 200, "log:\n{}", gw.log());
    }
    // Past a refresh (1 s) the name still resolves to the same server.
    std::thread::sleep(Duration::from_millis(1500));
    let r = gw.get("/api/orders/7", Some(&access("7", "CUSTOMER")), &[]);
    assert_eq!(r.status, 200, "{}; log:\n{}", r.body, gw.log());
    assert_eq!(up.seen().len(), 4);
}

#[test]
fn a_name_that_does_not_resolve_stops_serve_but_not_check() {
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, "nexora-no-such-host.invalid:8080", SHOP_ROUTES, "");
    let (_dir, path) = write_config(&yaml);
    let check = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    assert!(check.status.success(), "check must not need DNS: {}", String::from_utf8_lossy(&check.stderr));
    let mut gw = Gateway::spawn_yaml(&yaml, proxy, admin, &Launch::default());
    let status = gw.wait_exit(Duration::from_secs(20)).unwrap_or_else(|| panic!("still running; log:\n{}", gw.log()));
    assert!(!status.success());
    let log = gw.log();
    assert!(log.contains("upstream shop") && log.contains("nexora-no-such-host.invalid:8080"), "{log}");
}
