//! deploy/docker/Dockerfile and the root .dockerignore, read statically (no
//! Docker engine here): the stages, what the builder installs and runs, the
//! runtime user, ports, entry point, and the HEALTHCHECK command, which is
//! run against a real gateway.

use super::*;

/// One instruction: keyword (upper case) and its arguments, continuations joined.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

fn parse_dockerfile(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont.trim_end());
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        let (keyword, args) = full.split_once(char::is_whitespace).unwrap_or((&full, ""));
        out.push(Instruction { keyword: keyword.to_ascii_uppercase(), args: args.trim().to_owned() });
    }
    out
}

/// The instructions split into stages at each FROM (the FROM included).
fn stages() -> Vec<Vec<Instruction>> {
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    for ins in parse_dockerfile(&read_deploy("docker/Dockerfile")) {
        if ins.keyword == "FROM" {
            stages.push(Vec::new());
        }
        if let Some(stage) = stages.last_mut() {
            stage.push(ins);
        }
    }
    stages
}

fn all<'a>(stage: &'a [Instruction], keyword: &str) -> Vec<&'a str> {
    stage.iter().filter(|i| i.keyword == keyword).map(|i| i.args.as_str()).collect()
}

/// An exec-form (`["a", "b"]`) argument list.
fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("not exec form ({e}): {args}"))
}

#[test]
fn the_builder_installs_cmake_and_builds_locked_release() {
    let stages = stages();
    assert!(stages.len() >= 2, "multi-stage build expected, found {} stage(s)", stages.len());
    let builder = &stages[0];
    let from = builder[0].args.as_str();
    assert!(from.starts_with("rust:"), "builder on the official Rust image: {from}");
    assert!(from.to_ascii_lowercase().ends_with(" as builder"), "{from}");
    let runs = all(builder, "RUN").join("\n");
    assert!(runs.contains("apt-get install") && runs.contains("cmake"), "the builder must install cmake:\n{runs}");
    let builds: Vec<&str> = all(builder, "RUN").into_iter().filter(|r| r.contains("cargo build")).collect();
    assert!(builds.len() >= 2, "a dependency layer and the real build: {builds:?}");
    for b in &builds {
        assert!(b.contains("cargo build --release --locked"), "{b}");
    }
    // The dependency layer is built from the manifest alone, before the sources arrive.
    let first_copy = all(builder, "COPY")[0];
    assert_eq!(first_copy, "Cargo.toml Cargo.lock ./");
    // Cargo refuses a manifest whose declared targets are missing: the
    // dependency layer stubs every bench and test target Cargo.toml names,
    // and copies the workspace's member crates.
    let manifest = std::fs::read_to_string(repo_path("Cargo.toml")).unwrap();
    let stub_run = builds[0];
    let mut section = "";
    for line in manifest.lines() {
        if line.starts_with('[') {
            section = line;
        }
        let value = |key: &str| line.strip_prefix(key).map(|v| v.trim().trim_matches('"').to_owned());
        if section == "[[bench]]" {
            if let Some(name) = value("name =") {
                assert!(stub_run.contains(&format!("benches/{name}.rs")), "bench {name} has no stub: {stub_run}");
            }
        }
        if section == "[[test]]" {
            if let Some(path) = value("path =") {
                assert!(stub_run.contains(&path), "test target {path} has no stub: {stub_run}");
            }
        }
    }
    assert!(all(builder, "COPY").contains(&"crates ./crates"), "the workspace's crates: {:?}", all(builder, "COPY"));
}

#[test]
fn the_runtime_is_slim_debian_non_root_with_only_binary_and_config() {
    let stages = stages();
    let runtime = stages.last().unwrap();
    let from = runtime[0].args.as_str();
    assert!(from.starts_with("debian:") && from.contains("-slim"), "glibc slim runtime: {from}");
    let user = all(runtime, "USER");
    let user = user.last().expect("runtime stage sets USER");
    let name = user.split(':').next().unwrap();
    assert!(name != "root" && name != "0", "runtime must not run as root: USER {user}");
    assert!(name.parse::<u32>().is_ok_and(|uid| uid > 0), "numeric uid (Kubernetes runAsNonRoot can verify it): {user}");
    let copies = all(runtime, "COPY");
    assert_eq!(copies.len(), 2, "only the binary and the config: {copies:?}");
    assert!(copies[0].starts_with("--from=builder ") && copies[0].ends_with(" /usr/local/bin/nexora-gate"), "{}", copies[0]);
    assert_eq!(copies[1], "deploy/gateway.yaml /etc/nexora-gate/gateway.yaml");
    assert_eq!(exec_form(all(runtime, "ENTRYPOINT")[0]), ["/usr/local/bin/nexora-gate"]);
    assert_eq!(exec_form(all(runtime, "CMD")[0]), ["serve"]);
    assert!(all(runtime, "ENV").contains(&"NEXORA_CONFIG=/etc/nexora-gate/gateway.yaml"));
}

#[test]
fn exposed_ports_are_the_baked_in_configs_listeners() {
    let stages = stages();
    let runtime = stages.last().unwrap();
    let exposed: BTreeSet<u16> =
        all(runtime, "EXPOSE").iter().flat_map(|a| a.split_whitespace()).map(|p| p.parse().unwrap()).collect();
    let config = yaml_file("gateway.yaml");
    let expected: BTreeSet<u16> =
        ["proxy", "admin"].iter().map(|l| port_of(get_str(&config, &["listen", l]))).collect();
    assert_eq!(exposed, expected);
}

#[test]
fn every_copied_source_exists_and_is_in_the_build_context() {
    let ignore = std::fs::read_to_string(repo_path(".dockerignore")).expect(".dockerignore at the repository root");
    let ignored: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(ignored.contains(&"target") && ignored.contains(&".git"), "the context must leave out target/ and .git: {ignored:?}");
    for stage in stages() {
        for copy in all(&stage, "COPY") {
            if copy.starts_with("--from=") {
                continue;
            }
            let parts: Vec<&str> = copy.split_whitespace().collect();
            for src in &parts[..parts.len() - 1] {
                assert!(repo_path(src).exists(), "COPY {src}: no such file in the repository");
                for pattern in &ignored {
                    let p = pattern.trim_end_matches('/');
                    assert!(
                        !(*src == p || src.starts_with(&format!("{p}/"))),
                        "COPY {src} is excluded by .dockerignore pattern {pattern}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_healthcheck_command_tells_a_healthy_admin_port_from_a_dead_one() {
    let stages = stages();
    let runtime = stages.last().unwrap();
    let hc = all(runtime, "HEALTHCHECK");
    let hc = hc.first().expect("HEALTHCHECK (or document why none)");
    let cmd_at = hc.find("CMD ").expect("HEALTHCHECK ... CMD [...]");
    let argv = exec_form(&hc[cmd_at + 4..]);
    let admin_port = port_of(get_str(&yaml_file("gateway.yaml"), &["listen", "admin"]));
    let script = argv.last().unwrap();
    let needle = format!("127.0.0.1/{admin_port}");
    assert!(script.contains(&needle) && script.contains("/healthz"), "checks the admin /healthz: {script}");
    if std::process::Command::new(&argv[0]).arg("-c").arg("true").output().is_err() {
        return; // no bash on this machine: the static checks above still ran
    }
    let run = |port: u16| {
        let script = script.replace(&needle, &format!("127.0.0.1/{port}"));
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..argv.len() - 1]).arg(script);
        cmd.output().unwrap().status.success()
    };
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let live_port: u16 = gw.admin_url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(run(live_port), "the health check fails against a healthy gateway");
    let proxy_port: u16 = gw.url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(!run(proxy_port), "the health check passes on the proxy port (403 there), it must not");
    drop(gw);
    assert!(!run(free_port()), "the health check passes with nothing listening");
}

#[test]
fn the_dockerfile_reader_joins_continuations() {
    let ins = parse_dockerfile("# c\nRUN a \\\n && b\nUSER 1\n");
    assert_eq!(ins.len(), 2);
    assert_eq!(ins[0].args, "a && b");
}
