//! The engine: sends each case through Envoy on a raw socket, then a normal probe request,
//! reads the new lines of Envoy's log, checks them, and keeps the figures.
//!
//! Envoy runs with one worker (`--concurrency 1`) and the suite sends one request at a time,
//! so the filter's lines for a request form one stream in the log; each request is tagged
//! `x-hostile-id: <n>` and its probe `x-hostile-id: <n>-probe`.
//!
//! What each line of Envoy's log and access log must look like ([`classify`]):
//! every line of Envoy's log is one of its own lines, `[2026-11-23 20:50:09.226][18705][info][wasm] …`,
//! and every line of its access log (a file of its own: `xtask::stack::Envoy::access_log`) is
//! `[2026-11-23T20:50:09.226Z] "GET …" … "<upstream>"`. Anything else is a piece of a split
//! line, or a line a header forged. The filter's lines (logger `wasm`, `wasm log …`) must
//! also be valid UTF-8 with no raw control, C1, separator or bidi character, at level info.
//! Lines at level error or critical (a wasm trap, a failed callback) are failures too.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;
use envoy_model::envoy_log::{self, EnvoyLine, Event, Stream, WasmLine, parse_line};
use envoy_model::envoy_log::{LogFollower, group_streams, is_access_line, streams_with};
use envoy_model::figures::seconds;
use envoy_model::plugin_settings::PluginSettings;

use super::checks::{Fate, Outcome, Verdict, problem};
use super::checks::{brief, check_request, expectations, through_filter};
use super::summary::Summary;
use crate::stack::Envoy;
use envoy_model::http;
use filter_testing::hostile::case::{Case, ID_HEADER};
use filter_testing::hostile::reference;
use filter_testing::hostile::secrets::Secrets;

/// The answer to a request (`Err`: none, and why).
type Answer = Result<http::Response, String>;

/// A run in progress against one Envoy.
pub struct Suite {
    listener: SocketAddr,
    expect: PluginSettings,
    secrets: Secrets,
    reader: LogFollower,
    /// The access log (its own file): checked for secrets and for its shape.
    access: LogFollower,
    /// Filter lines read since the last request's streams were checked.
    pending: Vec<WasmLine>,
    started: Instant,
    /// How long a request, or its log lines, may take (10 s unless changed).
    pub timeout: Duration,
    /// The figures so far.
    pub summary: Summary,
}

impl Suite {
    /// Starts checking `envoy` (its log from the first line), which runs the filter with
    /// `config`; `secrets` is the token every secret the cases send contains.
    pub fn new(
        envoy: &Envoy,
        config: &PluginSettings,
        secrets: Secrets,
        seed: u64,
    ) -> Result<Suite> {
        Ok(Suite {
            listener: envoy.listener,
            expect: expectations(config),
            secrets,
            reader: LogFollower::open(envoy.log())?,
            access: LogFollower::open(&envoy.access_log())?,
            pending: Vec::new(),
            started: Instant::now(),
            timeout: Duration::from_secs(10),
            summary: Summary {
                seed,
                ..Summary::default()
            },
        })
    }

    /// Sends `case`, then a probe; checks both and the log lines they produced.
    pub fn check(&mut self, case: &Case) -> Result<Outcome> {
        let id = self.summary.requests.to_string();
        let name = format!("#{id} {}", case.label);
        let probe = Case::new("probe", "/get", Vec::new());
        let probe_id = format!("{id}-probe");
        let response = self.send(case, &id);
        let probe_response = self.send(&probe, &probe_id);
        self.summary.requests += 1;
        self.summary.probes += 1;

        let streams = self.wait_for_streams([(&id, &response), (&probe_id, &probe_response)])?;
        let verdict = check_request(&self.expect, case, &id, &response, &streams);
        let fate = verdict.fate.clone();
        self.summary.count(&fate);
        self.record(&name, case, &id, verdict);
        let mut probe_verdict =
            check_request(&self.expect, &probe, &probe_id, &probe_response, &streams);
        if probe_verdict.fate != Fate::Reached(200) {
            let answer = probe_response.as_ref().map_or_else(Clone::clone, brief);
            let got = format!("{:?} {answer}", probe_verdict.fate);
            let expected = "the next normal request passes: 200 through the filter";
            probe_verdict.problems.push(problem(expected, got, &[]));
        }
        let probe_passed = probe_verdict.problems.is_empty();
        let probe_name = format!("{name}: the probe after it");
        self.record(&probe_name, &probe, &probe_id, probe_verdict);
        // A request Envoy refuses still gets a filter context: the filter logs its lone
        // `<n> finished` line, with no header lines.
        let mut lone_allowed = matches!(fate, Fate::Refused(_));
        for stream in &streams {
            let tag: Vec<&str> = stream.request_values(ID_HEADER).collect();
            let lone = stream.request_headers.is_empty()
                && stream.response_headers.is_empty()
                && stream.finished.len() == 1;
            let allowed = lone && std::mem::take(&mut lone_allowed);
            if !allowed && tag != [id.as_str()] && tag != [probe_id.as_str()] {
                let got = format!("a stream tagged {tag:?}");
                let problem = problem("only their own streams in the log", got, &stream.lines);
                self.summary
                    .fail(format!("request {id} and its probe"), None, problem);
            }
        }
        let tagged = streams_with(&streams, ID_HEADER, &id);
        let request_lines = tagged.first().map(|s| s.request_headers.clone());
        Ok(Outcome {
            fate,
            request_lines: request_lines.unwrap_or_default(),
            probe_passed,
        })
    }

    /// Writes `case`, tagged `id`, and reads the answer (`Err`: none, and why).
    fn send(&self, case: &Case, id: &str) -> Answer {
        http::send(self.listener, &case.render(id), self.timeout).map_err(|e| format!("{e:#}"))
    }

    /// Reads the log, given the answers to a request and its probe (their tags first), until
    /// the streams of the tags whose answer went through the filter are there and every stream
    /// of both tags is finished; or, with no answer through the filter, until the log is quiet
    /// for 100 ms. Then hands over the streams of the lines read since the last request.
    fn wait_for_streams(&mut self, answers: [(&str, &Answer); 2]) -> Result<Vec<Stream>> {
        const QUIET: Duration = Duration::from_millis(100);
        let [(id, _), (probe_id, _)] = answers;
        // The tags whose answer went through the filter: their streams must be in the log.
        let through = |a: &Answer| a.as_ref().is_ok_and(|r| through_filter(&self.expect, r));
        let expected = answers.map(|(tag, answer)| through(answer).then_some(tag));
        let expected: Vec<&str> = expected.into_iter().flatten().collect();
        let deadline = Instant::now() + self.timeout;
        let mut last_line = Instant::now();
        loop {
            let done = if self.read_lines(id)? {
                last_line = Instant::now();
                let streams = group_streams(&self.pending);
                let tagged = |tag: &str| streams_with(&streams, ID_HEADER, tag);
                let finished = |tag: &str| tagged(tag).iter().all(|s| !s.finished.is_empty());
                let there = expected.iter().all(|tag| !tagged(tag).is_empty());
                !expected.is_empty() && there && finished(id) && finished(probe_id)
            } else {
                expected.is_empty() && last_line.elapsed() > QUIET
            };
            if done || Instant::now() > deadline {
                let streams = group_streams(&std::mem::take(&mut self.pending));
                if !done {
                    let expected = format!(
                        "the finished streams of {expected:?} in the log within {}",
                        seconds(self.timeout)
                    );
                    let lines: Vec<String> = streams.iter().flat_map(|s| s.lines.clone()).collect();
                    let problem = problem(expected, "not there", &lines);
                    self.summary.fail(format!("request {id}"), None, problem);
                }
                return Ok(streams);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Reads and checks the new lines of both logs; whether Envoy's log had any.
    fn read_lines(&mut self, id: &str) -> Result<bool> {
        let around = format!("around request {id}");
        for raw in self.access.new_lines()? {
            self.check_line(&raw, &around);
            if !is_access_line(&raw) {
                let expected = "every line of the access log an access log line";
                self.fail_on_line(&around, expected, "a line that is not", &raw);
            }
        }
        let lines = self.reader.new_lines()?;
        for raw in &lines {
            self.check_line(raw, &around);
            match classify(raw) {
                Ok(Some(line)) => {
                    self.summary.filter_lines += 1;
                    if envoy_log::classify(&line.message) == Event::Other {
                        let expected = "only header and `finished` lines from the filter";
                        self.fail_on_line(&around, expected, &line.message, line.raw.as_bytes());
                    }
                    self.pending.push(line);
                }
                Ok(None) => {}
                Err(why) => {
                    let expected = "every line of Envoy's log well formed";
                    self.fail_on_line(&around, expected, &why, raw);
                }
            }
        }
        Ok(!lines.is_empty())
    }

    /// Counts a line of either log and checks it holds no secret.
    fn check_line(&mut self, raw: &[u8], around: &str) {
        self.summary.log_lines += 1;
        if self.secrets.find_in(raw).is_some() {
            let expected = "no secret value anywhere in Envoy's log";
            let got = format!("the secret token {} in a line", self.secrets.token);
            self.fail_on_line(around, expected, &got, raw);
        }
    }

    fn fail_on_line(&mut self, request: &str, expected: &str, got: &str, raw: &[u8]) {
        let problem = problem(expected, got, &[String::from_utf8_lossy(raw).into_owned()]);
        self.summary.fail(request, None, problem);
    }

    /// Records what the checks of `case`, tagged `id`, found.
    fn record(&mut self, name: &str, case: &Case, id: &str, verdict: Verdict<'_>) {
        self.summary.values_checked += verdict.values_checked;
        for problem in verdict.problems {
            self.summary
                .fail(name, Some(case.describe(id, 600)), problem);
        }
    }

    /// Stops Envoy (so that everything it buffered reaches the file), checks the rest of the
    /// log, and returns the figures.
    pub fn finish(mut self, envoy: &mut Envoy) -> Result<Summary> {
        envoy.stop();
        self.read_lines("(after the last request)")?;
        let partial = [&mut self.reader.partial, &mut self.access.partial].map(std::mem::take);
        for left in partial.iter().filter(|left| !left.is_empty()) {
            self.check_line(left, "around request (after the last request)");
            let expected = "every line of Envoy's log complete";
            self.fail_on_line("after Envoy stopped", expected, "a line cut short", left);
        }
        for stream in group_streams(&self.pending) {
            let expected = "no filter lines after the last request";
            let problem = problem(expected, "a stream", &stream.lines);
            self.summary.fail("after the last request", None, problem);
        }
        self.summary.elapsed = self.started.elapsed();
        Ok(self.summary)
    }
}

/// Classifies one line of Envoy's log or its access log: `Ok(Some)` for a line the filter
/// wrote (`wasm log …: message`), checked and parsed; `Ok(None)` for one of Envoy's own lines
/// or an access log line; `Err` says why the line is not acceptable (it is a failure).
pub fn classify(raw: &[u8]) -> Result<Option<WasmLine>, String> {
    if is_access_line(raw) {
        return Ok(None);
    }
    let line = EnvoyLine::parse(raw).ok_or(
        "a line that is neither one of Envoy's nor an access log line: a split or forged line",
    )?;
    if line.is_error() {
        return Err(format!(
            "Envoy logged at level {} (logger {}): a wasm trap or a failed callback?",
            line.level, line.logger
        ));
    }
    if !line.is_wasm_log() {
        return Ok(None);
    }
    let text = std::str::from_utf8(raw).map_err(|e| {
        let at = e.valid_up_to();
        format!("a filter line that is not valid UTF-8 (byte {at} is not)")
    })?;
    if let Some((at, c)) = reference::unsafe_char(text) {
        let code = c as u32;
        return Err(format!(
            "a filter line holding a raw {c:?} (U+{code:04X}) at byte {at}"
        ));
    }
    let parsed = parse_line(text).ok_or("a filter line envoy_model::envoy_log can't parse")?;
    match (parsed.level.as_str(), &parsed.message) {
        ("info", _) => Ok(Some(parsed)),
        (level, message) => Err(format!("the filter logged at level {level}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "[2026-11-23 20:50:09.226][18705][info][wasm] \
        [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: ";

    fn filter_line(message: &str) -> Vec<u8> {
        format!("{PREFIX}{message}").into_bytes()
    }

    #[test]
    fn accepts_envoy_filter_and_access_lines() {
        let Ok(Some(line)) = classify(&filter_line("request header --> x-a: \\xff")) else {
            panic!("not a filter line")
        };
        assert_eq!(line.message, "request header --> x-a: \\xff");
        let access =
            b"[2026-11-23T20:50:09.226Z] \"GET /headers HTTP/1.1\" 200 - 0 251 3 1 \"-\" \"\xff\"";
        assert!(is_access_line(access));
        assert_eq!(classify(access), Ok(None));
        let warning = b"[2026-11-23 20:50:09.219][18699][warning][main] [source/server/server.cc:1059] There is no configured limit";
        assert_eq!(classify(warning), Ok(None));
    }

    #[test]
    fn refuses_raw_controls_and_invalid_utf8_in_filter_lines() {
        for bad in [
            filter_line("request header --> x-a: a\rb"),
            filter_line("request header --> x-a: \u{1b}[31m"),
            filter_line("request header --> x-a: \u{202E}evil"),
            filter_line("request header --> x-a: \u{85}"),
            [filter_line("request header --> x-a: "), b"\xff".to_vec()].concat(),
        ] {
            let verdict = classify(&bad);
            assert!(
                verdict.is_err(),
                "EXPECTED a refusal\nGOT: {verdict:?} for {}",
                String::from_utf8_lossy(&bad)
            );
        }
    }

    #[test]
    fn refuses_forged_and_split_lines_and_traps() {
        // What a header holding `\n` would leave if the filter did not escape it.
        assert!(classify(b"request header --> x-hostile-forged: 1").is_err());
        assert!(classify(b"").is_err());
        // An access line must end with the quoted upstream host.
        assert!(
            classify(b"[2026-11-23T20:50:09.226Z] \"GET / HTTP/1.1\" 200 ... forged tail").is_err()
        );
        let trap = b"[2026-11-23 20:50:09.226][18705][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable";
        assert!(classify(trap).unwrap_err().contains("error"));
        let warn = format!("{PREFIX}http_headers: can't read the headers").replacen(
            "[info][wasm]",
            "[warning][wasm]",
            1,
        );
        assert!(classify(warn.as_bytes()).unwrap_err().contains("warning"));
    }
}
