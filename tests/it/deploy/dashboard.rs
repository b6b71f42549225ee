//! deploy/grafana/nexora-gate-dashboard.json: valid JSON, the datasource is
//! a template variable, and every metric and label its queries use is exported
//! by a running gateway (scraped after traffic that touches every family).

use std::collections::BTreeMap;

use super::*;

/// Labels Prometheus adds to every scraped series (never in /metrics itself).
const TARGET_LABELS: &[&str] = &["instance", "job"];

/// Families registered by the gateway whose series only appear on an event the
/// test cannot cause. They must still be registered in src/metrics.rs, with
/// these labels. Empty since live reload exports its counters from the start;
/// remove an entry as soon as the test can trigger it.
const EVENT_ONLY: &[(&str, &[&str])] = &[];

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read_deploy("grafana/nexora-gate-dashboard.json")).expect("the dashboard is valid JSON")
}

/// Every panel, rows' nested panels included.
fn panels(dash: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        out.push(p);
        if let Some(nested) = p["panels"].as_array() {
            out.extend(nested.iter());
        }
    }
    out
}

/// Every PromQL expression: panel targets and query variables.
fn expressions(dash: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in panels(dash) {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push(t["expr"].as_str().unwrap_or_else(|| panic!("target without expr in {}", p["title"])).to_owned());
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        if v["type"] == "query" {
            let q = v["query"]["query"].as_str().or_else(|| v["query"].as_str()).unwrap();
            out.push(q.to_owned());
        }
    }
    out
}

/// Identifiers of an expression that name our metrics.
fn metric_names(expr: &str) -> BTreeSet<String> {
    identifiers(expr).into_iter().filter(|i| i.starts_with("nexora_")).collect()
}

/// Label names an expression refers to: matchers inside `{}` and `by (...)` /
/// `without (...)` / `label_values(..., L)` lists.
fn label_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '{' {
            let end = i + bytes[i..].iter().position(|c| *c == '}').unwrap();
            let inner: String = bytes[i + 1..end].iter().collect();
            for matcher in split_matchers(&inner) {
                let name: String = matcher.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
            i = end;
        }
        i += 1;
    }
    for keyword in ["by", "without"] {
        let mut rest = expr;
        while let Some(at) = find_word(rest, keyword) {
            let after = rest[at + keyword.len()..].trim_start();
            if let Some(list) = after.strip_prefix('(') {
                let end = list.find(')').unwrap();
                out.extend(list[..end].split(',').map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()));
            }
            rest = &rest[at + keyword.len()..];
        }
    }
    if let Some(args) = expr.trim().strip_prefix("label_values(") {
        let last = args.trim_end_matches(')').rsplit(',').next().unwrap().trim();
        out.insert(last.to_owned());
    }
    out
}

/// Splits `a="x",b=~"y,z"` at commas outside quotes.
fn split_matchers(inner: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in inner.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Position of `word` as a whole identifier in `text`.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(at) = text[from..].find(word).map(|a| a + from) {
        let before = text[..at].chars().next_back().is_some_and(is_ident);
        let after = text[at + word.len()..].chars().next().is_some_and(is_ident);
        if !before && !after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Identifier-like tokens outside string literals.
fn identifiers(expr: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in expr.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && (c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Series names in a /metrics text with the label names each carries.
fn scraped_series(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let name_end = line.find(['{', ' ']).unwrap();
        let labels = out.entry(line[..name_end].to_owned()).or_default();
        if line.as_bytes()[name_end] == b'{' {
            let end = line.rfind('}').unwrap();
            for m in split_matchers(&line[name_end + 1..end]) {
                if let Some((k, _)) = m.split_once('=') {
                    labels.insert(k.to_owned());
                }
            }
        }
    }
    out
}

/// A gateway with an extra route to a dead upstream, after traffic that makes
/// every family of metrics export a series: allowed, denied (401 and 403),
/// cached tokens, a failed upstream, a login and a refresh.
fn scrape_after_traffic() -> String {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin, dead) = (free_port(), free_port(), free_port());
    let policy = SHOP_ROUTES.replace(
        "routes:\n",
        "routes:\n  - name: gone\n    match: { path: /api/gone/** }\n    allow: public\n    upstream: dead\n",
    );
    let yaml = config_yaml(proxy, admin, &up.addr, &policy, "").replacen(
        "upstreams:\n",
        &format!("upstreams:\n  dead:\n    servers: [127.0.0.1:{dead}]\n    connect_timeout: 1s\n"),
        1,
    );
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let seller = access("2", "SELLER");
    assert_eq!(gw.get("/api/products/1", None, &[]).status, 200);
    assert_eq!(gw.get("/api/orders/1", Some(&seller), &[]).status, 200);
    assert_eq!(gw.get("/api/orders/1", Some(&seller), &[]).status, 200);
    assert_eq!(gw.get("/api/orders/1", None, &[]).status, 401);
    assert_eq!(gw.get("/api/admin/users", Some(&seller), &[]).status, 403);
    assert_eq!(gw.get("/api/orders/1", Some(&expired("2", "SELLER")), &[]).status, 401);
    assert_eq!(gw.get("/api/gone/x", None, &[]).status, 502);
    let post = |path: &str, body: &str| {
        Reply::from(
            agent()
                .post(&format!("{}{path}", gw.url))
                .set("Content-Type", "application/json")
                .send_string(body),
        )
    };
    assert_eq!(post("/auth/login", r#"{"username":"nobody","password":"wrong-password"}"#).status, 401);
    assert_eq!(post("/auth/refresh", r#"{"refresh":"not-a-token"}"#).status, 401);
    // Counters move after the response is sent: wait for the last one.
    gw.metrics_with("nexora_refresh_total{")
}

#[test]
fn the_datasource_is_a_template_variable_used_by_every_query() {
    let dash = dashboard();
    let vars = dash["templating"]["list"].as_array().unwrap();
    let ds = vars.iter().find(|v| v["type"] == "datasource").expect("a datasource variable");
    assert_eq!(ds["query"], "prometheus");
    let reference = format!("${{{}}}", ds["name"].as_str().unwrap());
    let mut queries = 0;
    for p in panels(&dash).into_iter().filter(|p| p["type"] != "row") {
        assert_eq!(p["datasource"]["uid"], reference.as_str(), "panel {}", p["title"]);
        let targets = p["targets"].as_array().unwrap_or_else(|| panic!("panel {} has no targets", p["title"]));
        assert!(!targets.is_empty(), "panel {} has no queries", p["title"]);
        for t in targets {
            assert_eq!(t["datasource"]["uid"], reference.as_str(), "a target of {}", p["title"]);
            queries += 1;
        }
    }
    assert!(queries >= 15, "{queries} queries");
    for v in vars.iter().filter(|v| v["type"] == "query") {
        assert_eq!(v["datasource"]["uid"], reference.as_str(), "variable {}", v["name"]);
    }
    // Panel ids are unique (Grafana links and alerts refer to them).
    let ids: Vec<u64> = panels(&dash).iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "duplicate panel ids");
}

#[test]
fn the_dashboard_covers_the_operations_questions() {
    let used: BTreeSet<String> = expressions(&dashboard()).iter().flat_map(|e| metric_names(e)).collect();
    for family in [
        "nexora_requests_total",
        "nexora_request_duration_seconds_bucket",
        "nexora_token_verify_total",
        "nexora_token_cache_hits_total",
        "nexora_token_cache_misses_total",
        "nexora_login_total",
        "nexora_refresh_total",
        "nexora_policy_reloads_total",
        "nexora_config_generation",
        "nexora_upstream_errors_total",
    ] {
        assert!(used.contains(family), "no panel uses {family}");
    }
    let exprs = expressions(&dashboard()).join("\n");
    for q in ["histogram_quantile(0.5,", "histogram_quantile(0.95,", "histogram_quantile(0.99,", "status=\"401\"", "status=\"403\""] {
        assert!(exprs.contains(q), "no query with {q}");
    }
}

#[test]
fn every_metric_and_label_the_dashboard_queries_is_exported_by_a_running_gateway() {
    let scraped = scraped_series(&scrape_after_traffic());
    let metrics_source = std::fs::read_to_string(repo_path("src/metrics.rs")).unwrap();
    for expr in expressions(&dashboard()) {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "a query that uses none of our metrics: {expr}");
        let mut labels_available: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
        for name in &names {
            if let Some(labels) = scraped.get(name) {
                labels_available.extend(labels.iter().cloned());
            } else if let Some((_, labels)) = EVENT_ONLY.iter().find(|(n, _)| n == name) {
                assert!(metrics_source.contains(&format!("\"{name}\"")), "{name} is not registered in src/metrics.rs");
                labels_available.extend(labels.iter().map(|l| l.to_string()));
            } else {
                let ours: Vec<&String> = scraped.keys().filter(|k| k.starts_with("nexora_")).collect();
                panic!("the dashboard queries {name}, which the gateway does not export.\nquery: {expr}\nexported: {ours:?}");
            }
        }
        for label in label_names(&expr) {
            assert!(labels_available.contains(&label), "label {label} is on none of {names:?} in: {expr}");
        }
    }
}

#[test]
fn the_query_readers_find_metrics_and_labels() {
    let e = r#"histogram_quantile(0.99, sum by (le, route) (rate(nexora_x_bucket{route=~"a,b",instance=~"$i"}[$__rate_interval])))"#;
    assert_eq!(metric_names(e).into_iter().collect::<Vec<_>>(), ["nexora_x_bucket"]);
    assert_eq!(label_names(e).into_iter().collect::<Vec<_>>(), ["instance", "le", "route"]);
    assert_eq!(label_names("label_values(nexora_y, route)").into_iter().collect::<Vec<_>>(), ["route"]);
    let s = scraped_series("# HELP a b\na_bucket{route=\"x,y\",le=\"1\"} 0\nb 1\n");
    assert_eq!(s["a_bucket"].iter().collect::<Vec<_>>(), ["le", "route"]);
    assert!(s["b"].is_empty());
}

#[test]
fn panels_fit_the_grid_without_overlapping() {
    let dash = dashboard();
    let boxes: Vec<(String, u64, u64, u64, u64)> = panels(&dash)
        .iter()
        .map(|p| {
            let g = &p["gridPos"];
            let n = |k: &str| g[k].as_u64().unwrap_or_else(|| panic!("panel {} gridPos.{k}", p["title"]));
            (p["title"].as_str().unwrap().to_owned(), n("x"), n("y"), n("w"), n("h"))
        })
        .collect();
    for (title, x, _, w, _) in &boxes {
        assert!(x + w <= 24, "panel {title} runs past the 24 grid columns");
    }
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let apart = a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1 || a.2 + a.4 <= b.2 || b.2 + b.4 <= a.2;
            assert!(apart, "panels {} and {} overlap", a.0, b.0);
        }
    }
}
