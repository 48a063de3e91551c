//! The native loop end to end: the real Envoy 1.40.0 with the built filter, the real
//! httpbin, the smoke checks. Each test is a step the README tells a user to take, or a
//! way it must fail.

use std::process::Command;

use crate::util::*;
use envoy_model::bootstrap;
use xtask::paths;

/// Without the wasm filter the checks fail, naming the header that is missing: they can fail.
#[test]
fn without_the_filter_smoke_fails_and_names_the_missing_header() {
    let doc = envoy_yaml();
    let stack = start("no-filter", bootstrap::without_wasm(&doc).unwrap());
    let report = smoke(&stack, plugin_config(&doc));
    let text = report.render_text();
    println!("{text}"); // shown with --nocapture: the README's sample of a failing report
    assert!(
        !report.passed(),
        "the checks passed without the filter:\n{text}"
    );
    assert_contains(
        "the report names the configured response header",
        &text,
        "x-wasm-header",
    );
    assert_contains(
        "the report names the injected request header",
        &text,
        "test",
    );
}

/// envoy.yaml itself passes `envoy --mode validate`, as Docker runs it (from the
/// repository root, relative wasm path) and as the native run derives it.
#[test]
fn envoy_yaml_passes_envoy_validate() {
    let tools = tools();
    let wasm = wasm_module();
    // As compose runs it: cwd = a directory laid out like /project.
    let project = paths::work_dir("test-validate");
    let module = project.join("target/wasm32-wasip1/release/filter.wasm");
    std::fs::create_dir_all(module.parent().unwrap()).unwrap();
    std::fs::copy(&wasm, &module).unwrap();
    let out = Command::new(&tools.envoy)
        .current_dir(&project)
        .args(["--mode", "validate", "--config-path"])
        .arg(paths::envoy_yaml())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "envoy --mode validate -c envoy.yaml failed:\n{text}"
    );

    let (ok, output) = validate_native("validate", "native.json", &envoy_yaml());
    assert!(ok, "the native copy fails envoy --mode validate:\n{output}");
}

/// A running `cargo xtask run --watch`, its output collected as it comes.
struct Watcher {
    child: std::process::Child,
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Watcher {
    fn start(envoy_config: &std::path::Path) -> Watcher {
        use std::io::Read;
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([
                "run",
                "--watch",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--envoy-config",
            ])
            .arg(envoy_config)
            .arg("--work-dir")
            .arg(envoy_config.with_file_name("run"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("xtask starts");
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for mut pipe in pipes {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Watcher { child, output }
    }

    fn text(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits (bounded) until the output holds `needle` `times` times.
    fn wait_for(&self, needle: &str, times: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        while self.text().matches(needle).count() < times {
            assert!(
                std::time::Instant::now() < deadline,
                "EXPECTED `{needle}` x{times}\nGOT:\n{}",
                self.text()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address after `label` in the step line, e.g. `Envoy 1.40.0 http://127.0.0.1:PORT`.
fn address_after(text: &str, label: &str) -> std::net::SocketAddr {
    let rest = &text[text
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"))
        + label.len()..];
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    addr.parse()
        .unwrap_or_else(|_| panic!("not an address after `{label}`: {addr}"))
}

/// The README's happy paths on one stack: `cargo xtask run` builds, starts, checks and
/// prints the report (every check passes against envoy.yaml's filter and configuration);
/// `cargo run -p smoke` against that running Envoy, its log read from the file, passes too;
/// with `--watch` a change to envoy.yaml re-runs the checks; Ctrl-C stops everything and
/// exits with the last report's code.
#[test]
fn readme_commands_pass_and_watch_mode_reruns_on_change() {
    wasm_module();
    let dir = paths::work_dir("test-watch");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("envoy.yaml");
    let original = std::fs::read_to_string(paths::envoy_yaml()).unwrap();
    std::fs::write(&config, &original).unwrap();

    let mut watcher = Watcher::start(&config);
    // The report (stdout) and the progress lines (stderr) come through two pipes, in no fixed
    // order: wait for both the watch line and the report's closing line.
    watcher.wait_for("watching", 1);
    watcher.wait_for(" passed, ", 1);
    let first = watcher.text();
    assert_contains("the first report", &first, "PASSED: 5 passed, 0 failed");
    assert!(!first.contains('✗'), "a check failed:\n{first}");
    assert_contains("the timing line", &first, "from command to report");
    let pinned = xtask::envoy_versions::pinned().unwrap();
    let envoy = address_after(&first, &format!("Envoy {pinned} http://"));
    let admin = address_after(&first, "admin http://");
    let httpbin = address_after(&first, "httpbin ");

    // README, Docker path step 2: `cargo run -p smoke`, the log read from Envoy's log file.
    let log = format!("file:{}", dir.join("run/envoy.log").display());
    let out = smoke_cli(&[
        "--url",
        &format!("http://{envoy}"),
        "--admin",
        &format!("http://{admin}"),
        "--logs",
        &log,
    ]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_contains("smoke's summary", &text, "PASSED: 5 passed, 0 failed");

    // Change the configured response header: the next report must expect the new value.
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a newer mtime on coarse clocks
    std::fs::write(&config, original.replace("demo-wasm", "demo-watch")).unwrap();
    watcher.wait_for("from change to report", 1);
    watcher.wait_for(" passed, ", 2);
    let text = watcher.text();
    assert_contains(
        "the re-run's report",
        &text,
        "x-wasm-header: demo-watch on 4 of 4 responses",
    );
    assert_eq!(text.matches("PASSED").count(), 2, "{text}");

    // Ctrl-C: the exit code of the last report (0: it passed), and nothing left listening.
    unsafe { libc::kill(watcher.child.id() as i32, libc::SIGINT) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = watcher.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "xtask did not stop on Ctrl-C:\n{}",
            watcher.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{}", watcher.text());
    for (what, addr) in [("Envoy", envoy), ("httpbin", httpbin)] {
        let still =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500))
                .is_ok();
        assert!(!still, "{what} still listens on {addr} after Ctrl-C");
    }
}

/// Envoy's wasm logger at warning (a production sidecar's default): no header lines, yet the
/// filter still sets and adds its headers; back at info it logs again. The level is switched
/// at runtime through Envoy's admin, as `istioctl proxy-config log` does. (Envoy would drop
/// info lines at warning anyway; that the filter skips the work shows in `cargo xtask bench`.)
#[test]
fn at_warning_the_filter_logs_nothing_and_still_sets_headers() {
    use envoy_model::http;
    use std::time::Duration;

    let stack = start("warning-level", envoy_yaml());
    let set_level = |level: &str| {
        let request = format!(
            "POST /logging?wasm={level} HTTP/1.1\r\nhost: admin\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let answer = http::send(
            stack.envoy.admin,
            request.as_bytes(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
    };
    let get = |tag: &str| {
        let request = format!(
            "GET /headers HTTP/1.1\r\nhost: httpbin\r\nx-level-tag: {tag}\r\nconnection: close\r\n\r\n"
        );
        http::send(
            stack.envoy.listener,
            request.as_bytes(),
            Duration::from_secs(5),
        )
        .unwrap()
    };

    set_level("warning");
    let quiet = get("quiet");
    set_level("info");
    let loud = get("loud");

    for (what, answer) in [("at warning", &quiet), ("at info", &loud)] {
        assert_eq!(answer.status, 200, "{what}: {}", answer.text());
        assert_eq!(
            answer.header("x-wasm-header").as_deref(),
            Some("demo-wasm"),
            "{what}: the response header"
        );
        assert_contains(
            &format!("{what}: test: best reaches httpbin"),
            &answer.text(),
            "\"Test\": \"best\"",
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = std::fs::read_to_string(stack.envoy.log()).unwrap_or_default();
        if log.contains("request header --> x-level-tag: loud")
            || std::time::Instant::now() > deadline
        {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_contains(
        "at info the filter logs",
        &log,
        "request header --> x-level-tag: loud",
    );
    assert!(
        !log.contains("x-level-tag: quiet"),
        "EXPECTED no line for the request at warning\nGOT:\n{log}"
    );
}
