//! The outcome of a run, as text for people or JSON for tools.
//!
//! Text: a header line (Envoy's version and URL, admin URL, run id, log source), one line per
//! check (`✓` pass, `✗` fail, `-` skipped) with `EXPECTED:` / `GOT:` and the relevant log lines
//! (the filter's messages; JSON keeps the whole lines) under a failure, then a summary line.
//! JSON: `{run_id, envoy_version, url, admin, log_source, checks: [{name, status, expected, got,
//! detail, log_tail}], passed}`.

use serde::Serialize;

use crate::checks::{CheckResult, CheckStatus};
use envoy_model::envoy_log::parse_line;

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Unique per run; every request carried `x-smoke-id: <run_id>-<n>`.
    pub run_id: String,
    /// The version Envoy's admin `/server_info` reports (`1.40.0`), if it said.
    pub envoy_version: Option<String>,
    /// The listener's base URL.
    pub url: String,
    /// The admin's base URL.
    pub admin: String,
    /// Where the log came from, e.g. `docker compose logs envoy`.
    pub log_source: String,
    /// One result per check, in order.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// True when no check failed (skipped ones do not fail a run).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(CheckResult::passed)
    }

    /// The report for a terminal or a CI log; ends with a newline.
    pub fn render_text(&self) -> String {
        // `1.40.0 ` when Envoy said, else nothing.
        let version: String = self.envoy_version.iter().map(|v| format!("{v} ")).collect();
        let mut out = vec![format!(
            "smoke: Envoy {version}{}, admin {}, run {}, logs: {}",
            self.url, self.admin, self.run_id, self.log_source
        )];
        for check in &self.checks {
            let name = &check.name;
            match check.status {
                CheckStatus::Pass => out.push(format!("  ✓ {name}: {}", check.got)),
                CheckStatus::Skip => out.push(format!("  - {name}: skipped: {}", check.detail)),
                CheckStatus::Fail => {
                    out.push(format!("  ✗ {name}"));
                    out.push(format!("      EXPECTED: {}", check.expected));
                    // One problem a line, aligned under the first.
                    let got = check.got.replace('\n', "\n           ");
                    out.push(format!("      GOT: {got}"));
                }
            }
            if check.status != CheckStatus::Skip && !check.detail.is_empty() {
                out.push(format!("      ({})", check.detail));
            }
            let tail = check.log_tail.as_deref().unwrap_or_default();
            if check.status == CheckStatus::Fail && !tail.is_empty() {
                out.push(format!("      log ({} lines):", tail.len()));
                // The filter's message only; `--format json` keeps the whole lines.
                let messages = tail
                    .iter()
                    .map(|l| parse_line(l).map_or(l.clone(), |l| l.message));
                out.extend(messages.map(|m| format!("        | {m}")));
            }
        }
        let count = |status| self.checks.iter().filter(|c| c.status == status).count();
        let (passed, failed) = (count(CheckStatus::Pass), count(CheckStatus::Fail));
        let verdict = if failed == 0 { "PASSED" } else { "FAILED" };
        let skipped = match count(CheckStatus::Skip) {
            0 => String::new(),
            n => format!(", {n} skipped"),
        };
        out.push(format!(
            "{verdict}: {passed} passed, {failed} failed{skipped}"
        ));
        out.join("\n") + "\n"
    }

    /// The report as one JSON object, its fields and `passed` (pretty-printed, ends with a
    /// newline).
    pub fn render_json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            report: &'a Report,
            passed: bool,
        }
        let json = Json {
            report: self,
            passed: self.passed(),
        };
        let text = serde_json::to_string_pretty(&json);
        text.map_or_else(|e| format!("{{\"error\": \"{e}\"}}\n"), |t| t + "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, status: CheckStatus) -> CheckResult {
        CheckResult {
            name: name.into(),
            status,
            expected: "x-wasm-header: demo-wasm".into(),
            got: if status == CheckStatus::Fail {
                "a missing\nb missing".into()
            } else {
                "fine".into()
            },
            detail: if status == CheckStatus::Skip {
                "no log source (--logs none)".into()
            } else {
                String::new()
            },
            log_tail: (status == CheckStatus::Fail).then(|| {
                vec![
                    "[2026-11-23 20:30:22.790][15807][info][wasm] \
                     [source/extensions/common/wasm/context.cc:1151] \
                     wasm log http-headers http-headers-root http-headers-vm: 2 finished"
                        .into(),
                    "not a wasm line".into(),
                ]
            }),
        }
    }

    fn report(checks: Vec<CheckResult>) -> Report {
        Report {
            run_id: "smoke-1-2".into(),
            envoy_version: Some("1.36.2".into()),
            url: "http://127.0.0.1:10000".into(),
            admin: "http://127.0.0.1:9901".into(),
            log_source: "none (log checks skipped)".into(),
            checks,
        }
    }

    #[test]
    fn text_shows_marks_expected_got_and_log() {
        let r = report(vec![
            check("a", CheckStatus::Pass),
            check("b", CheckStatus::Fail),
            check("c", CheckStatus::Skip),
        ]);
        assert!(!r.passed());
        let text = r.render_text();
        let expected = "\
smoke: Envoy 1.36.2 http://127.0.0.1:10000, admin http://127.0.0.1:9901, run smoke-1-2, logs: none (log checks skipped)
  ✓ a: fine
  ✗ b
      EXPECTED: x-wasm-header: demo-wasm
      GOT: a missing
           b missing
      log (2 lines):
        | 2 finished
        | not a wasm line
  - c: skipped: no log source (--logs none)
FAILED: 1 passed, 1 failed, 1 skipped
";
        assert_eq!(text, expected);
    }

    #[test]
    fn skipped_checks_do_not_fail_a_run() {
        let r = report(vec![
            check("a", CheckStatus::Pass),
            check("c", CheckStatus::Skip),
        ]);
        assert!(r.passed());
        assert!(
            r.render_text()
                .ends_with("PASSED: 1 passed, 0 failed, 1 skipped\n")
        );
    }

    #[test]
    fn json_has_statuses_and_verdict() {
        let r = report(vec![
            check("a", CheckStatus::Pass),
            check("c", CheckStatus::Skip),
        ]);
        let value: serde_json::Value = serde_json::from_str(&r.render_json()).unwrap();
        assert_eq!(value["run_id"], "smoke-1-2");
        assert_eq!(value["envoy_version"], "1.36.2");
        assert_eq!(value["passed"], true);
        assert_eq!(value["checks"][0]["status"], "pass");
        assert_eq!(value["checks"][1]["status"], "skip");
        assert_eq!(value["checks"][1]["detail"], "no log source (--logs none)");
        assert_eq!(value["checks"][0]["log_tail"], serde_json::Value::Null);
        assert_eq!(value["log_source"], "none (log checks skipped)");
    }
}
