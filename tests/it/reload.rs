//! Live config reload (docs/REFERENCE.md#reload): edits of the file and SIGHUP swap in the
//! new policy without failing a request; broken files are refused and
//! counted; key rotation; the ways files really get replaced.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::auth::{claims_of, uniq, AuthGw, Db, AUTH_DEFAULTS};
use crate::common::*;

/// How long a reload may take to show (debounce + load + build, on a busy machine).
const RELOAD_WAIT: Duration = Duration::from_secs(15);

/// The value of one series in `/metrics` (`name` or `name{labels}`), 0 when absent.
fn metric(gw: &Gateway, series: &str) -> f64 {
    let text = gw.metrics();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

fn generation(gw: &Gateway) -> f64 {
    metric(gw, "nexora_config_generation")
}

fn reloads(gw: &Gateway, result: &str) -> f64 {
    metric(gw, &format!("nexora_policy_reloads_total{{result=\"{result}\"}}"))
}

/// Waits until `nexora_policy_reloads_total{result}` reads `count`. A reload
/// counts itself just after the swap, so a test that has just seen the new
/// behaviour may still read the old count for a moment; a count past `count`
/// never comes back down and times out.
fn wait_for_reloads(gw: &Gateway, result: &str, count: f64) {
    wait_for(gw, &format!("{count} reload(s) counted as {result}"), || reloads(gw, result) == count);
}

/// Polls `done` until it holds; panics with `what` and the log after [`RELOAD_WAIT`].
fn wait_for(gw: &Gateway, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + RELOAD_WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}; log:\n{}", gw.log());
        thread::sleep(Duration::from_millis(50));
    }
}

fn config_text(gw: &Gateway) -> String {
    std::fs::read_to_string(&gw.config_path).unwrap()
}

/// The way editors save: write a sibling temp file, rename it over the config.
fn replace_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// 1-based line of the first line of `text` equal to `line`.
fn line_of(text: &str, line: &str) -> usize {
    text.lines().position(|l| l == line).unwrap() + 1
}

/// Whether `log` has `NAME:LINE:COL:` with numbers, for the file `name`.
fn has_file_line_col(log: &str, name: &str) -> bool {
    log.match_indices(&format!("{name}:")).any(|(i, m)| {
        let rest = &log[i + m.len()..];
        let mut parts = rest.splitn(3, ':');
        let (line, col) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) && !col.is_empty() && col.bytes().all(|b| b.is_ascii_digit())
    })
}

fn sighup(gw: &Gateway) {
    let status = Command::new("kill").args(["-HUP", &gw.pid().to_string()]).status().unwrap();
    assert!(status.success());
}

/// What one load thread saw.
#[derive(Default, Debug)]
struct LoadReport {
    sent: usize,
    failures: Vec<String>,
    /// Statuses of the route whose decision the edit flips, in order.
    flipping: Vec<u16>,
}

/// Sends a bounded, steady stream of requests until `stop` (or 30 s / 4000
/// requests): a public route that must always answer 200, and `/api/closed/1`
/// whose answer the test flips from 403 to 200. `keepalive` reuses one
/// connection pool; otherwise every request opens a new connection.
fn load(url: String, stop: Arc<AtomicBool>, keepalive: bool) -> LoadReport {
    let mut report = LoadReport::default();
    let shared = agent();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && report.sent < 4000 {
        for path in ["/api/products/1", "/api/closed/1"] {
            let client = if keepalive { shared.clone() } else { agent() };
            report.sent += 1;
            let status = match client.get(&format!("{url}{path}")).call() {
                Ok(r) => r.status(),
                Err(ureq::Error::Status(code, _)) => code,
                Err(e) => {
                    report.failures.push(format!("{path}: {e}"));
                    continue;
                }
            };
            match (path, status) {
                ("/api/products/1", 200) => {}
                ("/api/closed/1", 200 | 403) => report.flipping.push(status),
                _ => report.failures.push(format!("{path}: status {status}")),
            }
        }
        thread::sleep(Duration::from_millis(2));
    }
    report
}

#[test]
fn an_edit_under_load_takes_effect_without_failing_a_request() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    assert_eq!(gw.get("/api/closed/1", None, &[]).status, 403);

    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = [true, false]
        .into_iter()
        .map(|keepalive| {
            let (url, stop) = (gw.url.clone(), stop.clone());
            thread::spawn(move || load(url, stop, keepalive))
        })
        .collect();
    thread::sleep(Duration::from_millis(300));

    // Rewritten in place (truncate + write), the least careful way to save.
    let text = config_text(&gw).replace(
        "  - name: closed\n    match: { path: /api/closed/** }\n    allow: deny\n",
        "  - name: closed\n    match: { path: /api/closed/** }\n    allow: public\n",
    );
    std::fs::write(&gw.config_path, text).unwrap();
    wait_for(&gw, "the edit to apply", || gw.get("/api/closed/1", None, &[]).status == 200);
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);

    for loader in loaders {
        let report = loader.join().unwrap();
        assert!(report.failures.is_empty(), "failed requests across the swap: {:?}", report.failures);
        assert!(report.sent > 20, "the load was too thin to prove anything: {report:?}");
        let first_new = report.flipping.iter().position(|&s| s == 200).expect("the load never saw the new policy");
        assert!(first_new > 0, "the load never saw the old policy: {report:?}");
        assert!(
            report.flipping[first_new..].iter().all(|&s| s == 200),
            "the old policy came back after the new one answered: {:?}",
            report.flipping
        );
    }
    wait_for_reloads(&gw, "ok", 1.0);
    assert_eq!(reloads(&gw, "error"), 0.0);
    assert_eq!(generation(&gw), 2.0);
    assert!(metric(&gw, "nexora_config_last_reload_success_timestamp_seconds") >= (now() - 60) as f64);
}

#[test]
fn broken_files_are_refused_counted_and_located() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let original = config_text(&gw);
    let closed_allow = "    allow: deny";
    let allow_line = line_of(&original, closed_allow);

    // A YAML syntax error.
    replace_atomically(&gw.config_path, &original.replace(closed_allow, "    allow: [deny"));
    wait_for(&gw, "the syntax error to be counted", || reloads(&gw, "error") == 1.0);
    assert!(has_file_line_col(&gw.log(), "gateway.yaml"), "no FILE:LINE:COL in:\n{}", gw.log());
    assert_eq!(gw.get("/api/closed/1", None, &[]).status, 403);
    assert_eq!(gw.get("/api/products/1", None, &[]).status, 200);

    // A semantic error: a role the config does not define, located on its line.
    replace_atomically(&gw.config_path, &original.replace(closed_allow, "    allow: [ADMN]"));
    wait_for(&gw, "the unknown role to be counted", || reloads(&gw, "error") == 2.0);
    let log = gw.log();
    assert!(log.contains(&format!("gateway.yaml:{allow_line}:")), "line {allow_line} not named in:\n{log}");
    assert!(log.contains("unknown role \"ADMN\""), "{log}");
    assert_eq!(gw.get("/api/closed/1", None, &[]).status, 403);

    // A valid file whose own policy tests fail.
    let opened = original.replace(closed_allow, "    allow: public");
    let failing = format!("{opened}\ntests:\n  - {{ request: \"GET /api/closed/1\", anonymous: true, expect: deny }}\n");
    replace_atomically(&gw.config_path, &failing);
    wait_for(&gw, "the failing policy test to be counted", || reloads(&gw, "error") == 3.0);
    assert!(gw.log().contains("policy test failed"), "{}", gw.log());
    assert_eq!(gw.get("/api/closed/1", None, &[]).status, 403);
    assert_eq!(generation(&gw), 1.0);
    assert_eq!(reloads(&gw, "ok"), 0.0);

    // Fixed: the same change with a passing test goes live.
    let passing = failing.replace("expect: deny", "expect: allow");
    replace_atomically(&gw.config_path, &passing);
    wait_for(&gw, "the fixed file to apply", || gw.get("/api/closed/1", None, &[]).status == 200);
    wait_for_reloads(&gw, "ok", 1.0);
    assert_eq!(reloads(&gw, "error"), 3.0);
    assert_eq!(generation(&gw), 2.0);
}

#[test]
fn sighup_reloads_and_never_ends_the_process() {
    let up = Upstream::start(Behaviour::Ok);
    let mut gw = Gateway::start(&up);
    assert_eq!(reloads(&gw, "ok"), 0.0);
    for n in 1..=3 {
        sighup(&gw);
        wait_for(&gw, "the SIGHUP reload", || reloads(&gw, "ok") == f64::from(n));
        assert_eq!(generation(&gw), f64::from(n + 1));
    }
    assert!(gw.is_running(), "SIGHUP ended the gateway; log:\n{}", gw.log());
    assert_eq!(gw.get("/api/products/1", None, &[]).status, 200);
    assert!(gw.log().contains("SIGHUP"), "{}", gw.log());

    // A SIGHUP with a broken file in place is refused like any reload.
    replace_atomically(&gw.config_path, &config_text(&gw).replace("roles: [ADMIN, SELLER, CUSTOMER]", "roles: [ADMIN, SELLER, CUSTOMER"));
    wait_for(&gw, "the watcher to refuse the broken file", || reloads(&gw, "error") == 1.0);
    sighup(&gw);
    wait_for(&gw, "the SIGHUP to refuse it again", || reloads(&gw, "error") == 2.0);
    assert_eq!(generation(&gw), 4.0);
    assert!(gw.is_running());
    assert_eq!(gw.get("/api/products/1", None, &[]).status, 200);
}

#[test]
fn restart_only_changes_are_named_and_the_rest_applies() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let edited = config_text(&gw)
        .replace("server:\n  threads: 1\n", "server:\n  threads: 3\n")
        .replace("    allow: deny", "    allow: public");
    replace_atomically(&gw.config_path, &edited);
    wait_for(&gw, "the route change to apply", || gw.get("/api/closed/1", None, &[]).status == 200);
    let log = gw.log();
    assert!(log.contains("server.threads changed"), "{log}");
    assert!(log.contains("after a restart"), "{log}");
    assert!(!log.contains("listen.proxy changed"), "{log}");
    assert_eq!(gw.get("/api/products/1", None, &[]).status, 200);
}

/// An HS256 access token for `role` with a `kid` header.
fn token_with_kid(kid: &str, key: &str, role: &str) -> String {
    let header = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#);
    sign_hs256(&header, &payload("access", "7", role, now() as i64 + 3600), key)
}

const ROTATED_KEY: &str = "it-rotated-key-fedcba9876543210fedcba9876543210";

#[test]
fn keys_rotate_through_reload() {
    let gw = AuthGw::start_with(&Db::Sqlite, AUTH_DEFAULTS, "  kid: k-old\n");
    let old = token_with_kid("k-old", SIGNING_KEY, "ADMIN");
    let new = token_with_kid("k-new", ROTATED_KEY, "ADMIN");
    assert_eq!(gw.gw.get("/api/admin/x", Some(&old), &[]).status, 200);
    assert_eq!(gw.gw.get("/api/admin/x", Some(&new), &[]).status, 401);

    // New current key; the old one is still accepted under its kid.
    let original = config_text(&gw.gw);
    let rotating = original.replace("  signing_key: ${IT_SIGNING_KEY}\n", &format!("  signing_key: {ROTATED_KEY}\n")).replace(
        "  kid: k-old\n",
        "  kid: k-new\n  previous_keys:\n    - kid: k-old\n      signing_key: ${IT_SIGNING_KEY}\n",
    );
    assert_ne!(rotating, original);
    replace_atomically(&gw.gw.config_path, &rotating);
    wait_for(&gw.gw, "the rotation to apply", || generation(&gw.gw) == 2.0);
    assert_eq!(gw.gw.get("/api/admin/x", Some(&new), &[]).status, 200);
    assert_eq!(gw.gw.get("/api/admin/x", Some(&old), &[]).status, 200);

    // Tokens the gateway mints now carry the new kid and the new key's signature.
    let name = uniq("rotor");
    gw.create_user(&name, "rotation-Pass-Quartz-42", "CUSTOMER");
    let (access, _) = gw.tokens(&name, "rotation-Pass-Quartz-42");
    let segments: Vec<&str> = access.split('.').collect();
    let decode = |s: &str| {
        use base64::Engine;
        String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap()
    };
    let header = decode(segments[0]);
    assert!(header.contains(r#""kid":"k-new""#), "{header}");
    assert_eq!(sign_hs256(&header, &decode(segments[1]), ROTATED_KEY), access);
    assert_eq!(claims_of(&access)["username"], name.as_str());
    assert_eq!(gw.gw.get("/api/orders/1", Some(&access), &[]).status, 200);

    // The old key retired: its tokens are refused, even ones verified (and cached) before.
    let retired = rotating.replace("  previous_keys:\n    - kid: k-old\n      signing_key: ${IT_SIGNING_KEY}\n", "");
    assert_ne!(retired, rotating);
    replace_atomically(&gw.gw.config_path, &retired);
    wait_for(&gw.gw, "the retirement to apply", || generation(&gw.gw) == 3.0);
    assert_eq!(gw.gw.get("/api/admin/x", Some(&old), &[]).status, 401);
    assert_eq!(gw.gw.get("/api/admin/x", Some(&new), &[]).status, 200);
    assert_eq!(gw.gw.get("/api/orders/1", Some(&access), &[]).status, 200);
}

#[test]
fn replaced_files_are_noticed_and_same_bytes_are_not_a_reload() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let original = config_text(&gw);
    let dir = gw.config_path.parent().unwrap().to_owned();

    // Rename-over (vim, most editors, `mv`).
    let opened = original.replace("    allow: deny", "    allow: public");
    replace_atomically(&gw.config_path, &opened);
    wait_for(&gw, "the renamed-over file to apply", || gw.get("/api/closed/1", None, &[]).status == 200);
    wait_for_reloads(&gw, "ok", 1.0);

    // Saving the same bytes again is not a reload.
    std::fs::write(&gw.config_path, &opened).unwrap();
    replace_atomically(&gw.config_path, &opened);
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(reloads(&gw, "ok"), 1.0);
    assert_eq!(generation(&gw), 2.0);

    // Kubernetes ConfigMap layout: gateway.yaml -> ..data/gateway.yaml, ..data -> ..v1.
    let v1 = original.replace("    allow: deny", "    allow: [ADMIN]");
    std::fs::create_dir(dir.join("..v1")).unwrap();
    std::fs::write(dir.join("..v1/gateway.yaml"), &v1).unwrap();
    std::os::unix::fs::symlink("..v1", dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/gateway.yaml", dir.join("gateway.yaml.link")).unwrap();
    std::fs::rename(dir.join("gateway.yaml.link"), &gw.config_path).unwrap();
    wait_for(&gw, "the symlinked file to apply", || gw.get("/api/closed/1", None, &[]).status == 401);

    // The kubelet's update: a new timestamped dir, ..data swapped by rename.
    std::fs::create_dir(dir.join("..v2")).unwrap();
    std::fs::write(dir.join("..v2/gateway.yaml"), &opened).unwrap();
    std::os::unix::fs::symlink("..v2", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    std::fs::remove_dir_all(dir.join("..v1")).unwrap();
    wait_for(&gw, "the ..data swap to apply", || gw.get("/api/closed/1", None, &[]).status == 200);
    wait_for_reloads(&gw, "ok", 3.0);
    assert_eq!(reloads(&gw, "error"), 0.0);
}

#[test]
fn a_request_in_flight_finishes_under_the_generation_it_started_with() {
    let up = Upstream::start(Behaviour::Slow(Duration::from_secs(3)));
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, SHOP_ROUTES, "").replace("read_timeout: 2s", "read_timeout: 20s");
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let url = format!("{}/api/products/1", gw.url);
    let in_flight = thread::spawn(move || Reply::from(agent().get(&url).call()));
    wait_for(&gw, "the slow request to reach the upstream", || !up.seen().is_empty());

    // The new generation drops the catalogue route and points the upstream nowhere.
    let edited = config_text(&gw)
        .replace("  - name: catalogue\n    match: { path: /api/products/**, methods: [GET, HEAD] }\n    allow: public\n    upstream: shop\n", "")
        .replace(&format!("servers: [{}]", up.addr), &format!("servers: [127.0.0.1:{}]", free_port()));
    replace_atomically(&gw.config_path, &edited);
    wait_for(&gw, "the new generation", || generation(&gw) == 2.0);
    assert!(!in_flight.is_finished(), "the slow request ended before the swap: the test proves nothing");
    // No rule matches any more: `default: deny`.
    assert_eq!(gw.get("/api/products/2", None, &[]).status, 403);

    let reply = in_flight.join().unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.contains("\"upstream\":true"), "{}", reply.body);
    assert_eq!(generation(&gw), 2.0);
}

/// Longer than the reload service's first look, taken one debounce after it starts.
const STARTUP_LOOK: Duration = Duration::from_millis(1500);

/// `nexora-gate keygen --alg EdDSA --out DIR`: writes `private.pem` and `public.pem`.
fn keygen_eddsa(dir: &Path) {
    let out = run_cli(&["keygen", "--alg", "EdDSA", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// An ADMIN access token minted by `token mint` with the key files `config` names now.
fn mint_admin(config: &Path) -> String {
    let out = run_cli(&[
        "--config", config.to_str().unwrap(), "token", "mint", "--user-id", "9", "--username", "ops", "--role", "ADMIN",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_replaced_key_pair_applies_without_sighup() {
    // The keys live in their own directory, away from the config, as a
    // mounted Secret would.
    let keys = tempfile::tempdir().unwrap();
    let live = keys.path().join("live");
    keygen_eddsa(&live);
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, SHOP_ROUTES, "").replace(
        "  algorithm: HS256\n  signing_key: ${IT_SIGNING_KEY}\n",
        &format!(
            "  algorithm: EdDSA\n  private_key_file: {}\n  public_key_file: {}\n",
            live.join("private.pem").display(),
            live.join("public.pem").display()
        ),
    );
    assert!(yaml.contains("EdDSA"));
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let before = mint_admin(&gw.config_path);
    assert_eq!(gw.get("/api/admin/x", Some(&before), &[]).status, 200);

    // A new pair, moved over the old files one after the other, once the
    // look taken at start (250 ms in) has passed: only the watch can see it.
    thread::sleep(STARTUP_LOOK);
    let next = keys.path().join("next");
    keygen_eddsa(&next);
    std::fs::rename(next.join("private.pem"), live.join("private.pem")).unwrap();
    std::fs::rename(next.join("public.pem"), live.join("public.pem")).unwrap();
    let after = mint_admin(&gw.config_path);
    assert_ne!(after, before);
    wait_for(&gw, "the new key pair to apply", || gw.get("/api/admin/x", Some(&after), &[]).status == 200);
    assert_eq!(gw.get("/api/admin/x", Some(&before), &[]).status, 401, "a token of the replaced key still passes");
    wait_for(&gw, "the new pair's reload to be counted", || reloads(&gw, "ok") >= 1.0);
    assert!(gw.log().contains("file changed"), "{}", gw.log());

    // Touching a key file without changing its bytes is not a reload.
    let applied = reloads(&gw, "ok") + reloads(&gw, "error");
    let public = std::fs::read(live.join("public.pem")).unwrap();
    std::fs::write(live.join("public.pem"), &public).unwrap();
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(reloads(&gw, "ok") + reloads(&gw, "error"), applied);
}

#[test]
fn a_reload_that_names_new_key_files_watches_them() {
    let keys = tempfile::tempdir().unwrap();
    let (first, second) = (keys.path().join("first"), keys.path().join("second"));
    keygen_eddsa(&first);
    keygen_eddsa(&second);
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let key_lines = |dir: &Path| {
        format!(
            "  algorithm: EdDSA\n  private_key_file: {}\n  public_key_file: {}\n",
            dir.join("private.pem").display(),
            dir.join("public.pem").display()
        )
    };
    let yaml = config_yaml(proxy, admin, &up.addr, SHOP_ROUTES, "")
        .replace("  algorithm: HS256\n  signing_key: ${IT_SIGNING_KEY}\n", &key_lines(&first));
    let gw = Gateway::start_yaml(&yaml, proxy, admin);

    // The config moves to the second directory's keys...
    replace_atomically(&gw.config_path, &yaml.replace(&key_lines(&first), &key_lines(&second)));
    wait_for(&gw, "the move to the second key directory", || generation(&gw) == 2.0);
    // ...whose files are watched from then on.
    let third = keys.path().join("third");
    keygen_eddsa(&third);
    std::fs::rename(third.join("private.pem"), second.join("private.pem")).unwrap();
    std::fs::rename(third.join("public.pem"), second.join("public.pem")).unwrap();
    let token = mint_admin(&gw.config_path);
    wait_for(&gw, "the replaced pair in the second directory", || gw.get("/api/admin/x", Some(&token), &[]).status == 200);
}

/// The `digest` labels of `nexora_config_info` at 1.
fn content_digests(gw: &Gateway) -> Vec<String> {
    gw.metrics()
        .lines()
        .filter(|l| l.starts_with("nexora_config_info{") && l.ends_with(" 1"))
        .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
        .collect()
}

// A fleet can tell which policy each replica enforces: replicas serving the
// same files show the same digest, and a reload that changes the content
// changes it (one series at a time). The dashboard counts distinct digests.
#[test]
fn the_config_digest_names_the_content_in_force() {
    let up = Upstream::start(Behaviour::Ok);
    let (a, b) = (Gateway::start(&up), Gateway::start(&up));
    let (before_a, before_b) = (content_digests(&a), content_digests(&b));
    assert_eq!(before_a.len(), 1, "{before_a:?}");
    assert_eq!(before_a[0].len(), 16, "{before_a:?}");
    // The two configs differ only in their listener ports.
    assert_ne!(before_a, before_b, "different files, different digests");
    let text = config_text(&a);
    replace_atomically(&a.config_path, &text.replace("default: deny", "default: deny\n# an operator's note"));
    wait_for(&a, "the reload", || reloads(&a, "ok") == 1.0);
    wait_for(&a, "the new digest", || content_digests(&a) != before_a);
    assert_eq!(content_digests(&a).len(), 1);
    // Back to the same bytes: back to the same digest.
    replace_atomically(&a.config_path, &text);
    wait_for(&a, "the second reload", || reloads(&a, "ok") == 2.0);
    wait_for(&a, "the first digest again", || content_digests(&a) == before_a);
    // A refused file changes nothing.
    replace_atomically(&a.config_path, &text.replace("roles: [ADMIN", "roles: [ADMIN, "));
    wait_for(&a, "the refusal", || reloads(&a, "error") == 1.0);
    assert_eq!(content_digests(&a), before_a);
}
