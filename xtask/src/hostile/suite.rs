//! The engine: sends each case through Envoy on a raw socket, then a normal probe request,
//! reads the new lines of Envoy's log, checks them, and keeps the figures.
//!
//! Envoy runs with one worker (`--concurrency 1`) and the suite sends one request at a time,
//! so the filter's lines for a request form one stream in the log; each request is tagged
//! `x-hostile-id: <n>` and its probe `x-hostile-id: <n>-probe`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;
use filter_core::config::PluginConfig;
use smoke::envoy::log::{Event, Stream, WasmLine, classify as classify_message, group_streams};

use super::case::{Case, ID_HEADER};
use super::checks::check_request;
use super::log::{Line, LogReader, classify};
use super::secrets::Secrets;
use super::stream_lines::Expectations;
use super::summary::{Failure, Summary};
use super::verdict::{Fate, Problem};
use crate::http;
use crate::stack::Envoy;

/// How long a request, or its log lines, may take (by default).
const TIMEOUT: Duration = Duration::from_secs(10);

/// What happened to one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Reached the filter, or refused by Envoy.
    pub fate: Fate,
    /// The filter's `request header` lines for it (name, value as logged).
    pub request_lines: Vec<(String, String)>,
    /// How many failures it added.
    pub failures: usize,
    /// The normal request after it passed.
    pub probe_passed: bool,
}

/// A run in progress against one Envoy.
pub struct Suite {
    listener: SocketAddr,
    expect: Expectations,
    secrets: Secrets,
    reader: LogReader,
    /// The access log (its own file): checked for secrets and for its shape.
    access: LogReader,
    /// Filter lines read since the last request's streams were checked.
    pending: Vec<WasmLine>,
    started: Instant,
    /// How long a request, or its log lines, may take.
    timeout: Duration,
    /// The figures so far.
    pub summary: Summary,
}

impl Suite {
    /// Starts checking `envoy` (its log from the first line), which runs the filter with
    /// `config`; `secrets` is the token every secret the cases send contains.
    pub fn new(envoy: &Envoy, config: &PluginConfig, secrets: Secrets, seed: u64) -> Result<Suite> {
        Ok(Suite {
            listener: envoy.listener,
            expect: Expectations::from_config(config),
            secrets,
            reader: LogReader::open(envoy.log())?,
            access: LogReader::open(&envoy.access_log())?,
            pending: Vec::new(),
            started: Instant::now(),
            timeout: TIMEOUT,
            summary: Summary {
                seed,
                ..Summary::default()
            },
        })
    }

    /// Waits at most `timeout` for an answer or for log lines (default 10 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The run's secrets.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Sends `case`, then a probe; checks both and the log lines they produced.
    pub fn check(&mut self, case: &Case) -> Result<Outcome> {
        let n = self.summary.requests;
        let id = n.to_string();
        let before = self.summary.failures.len();
        let response = http::send(self.listener, &case.render(&id), self.timeout)
            .map_err(|e| format!("{e:#}"));
        self.summary.requests += 1;

        let probe = Case::new("probe", "/get", Vec::new());
        let probe_id = format!("{id}-probe");
        let probe_response = http::send(self.listener, &probe.render(&probe_id), self.timeout)
            .map_err(|e| format!("{e:#}"));
        self.summary.probes += 1;

        let mut expected = Vec::new();
        for (tag, answer) in [(&id, &response), (&probe_id, &probe_response)] {
            if answer.as_ref().is_ok_and(|r| self.expect.through_filter(r)) {
                expected.push(tag.as_str());
            }
        }
        let streams = self.wait_for_streams(&id, &probe_id, &expected)?;
        let name = format!("#{n} {}", case.label);
        let verdict = check_request(&self.expect, case, &id, &response, &streams);
        let fate = verdict.fate.clone();
        self.summary.values_checked += verdict.values_checked;
        self.record(&name, case, &id, verdict.problems);
        match &fate {
            Fate::Reached(_) => self.summary.reached += 1,
            Fate::Refused(status) => {
                let key = status.map_or("closed".to_string(), |s| s.to_string());
                *self.summary.refused.entry(key).or_default() += 1;
            }
            Fate::Other(_) => self.summary.other += 1,
        }
        let probe_verdict =
            check_request(&self.expect, &probe, &probe_id, &probe_response, &streams);
        let probe_fate = probe_verdict.fate;
        let mut probe_problems = probe_verdict.problems;
        self.summary.values_checked += probe_verdict.values_checked;
        let probe_passed = probe_fate == Fate::Reached(200) && probe_problems.is_empty();
        if probe_fate != Fate::Reached(200) {
            probe_problems.push(Problem {
                expected: "the next normal request passes: 200 through the filter".into(),
                got: format!("{probe_fate:?} {}", brief(&probe_response)),
                lines: Vec::new(),
            });
        }
        self.record(
            &format!("{name}: the probe after it"),
            &probe,
            &probe_id,
            probe_problems,
        );
        // A request Envoy refuses still gets a filter context: the filter logs its lone
        // `<n> finished` line, with no header lines.
        let mut lone_allowed = usize::from(matches!(fate, Fate::Refused(_)));
        for stream in &streams {
            let tag: Vec<&str> = stream.request_values(ID_HEADER).collect();
            let lone = stream.request_headers.is_empty()
                && stream.response_headers.is_empty()
                && stream.finished.len() == 1;
            if lone && lone_allowed > 0 {
                lone_allowed -= 1;
                continue;
            }
            if tag != [id.as_str()] && tag != [probe_id.as_str()] {
                self.log_failure(
                    &format!("request {id} and its probe"),
                    "only their own streams in the log",
                    &format!("a stream tagged {tag:?}"),
                    stream.lines.clone(),
                );
            }
        }
        let request_lines = streams
            .iter()
            .find(|s| s.request_values(ID_HEADER).any(|v| v == id))
            .map(|s| s.request_headers.clone())
            .unwrap_or_default();
        Ok(Outcome {
            fate,
            request_lines,
            failures: self.summary.failures.len() - before,
            probe_passed,
        })
    }

    /// Reads the log until the streams of the `expected` tags (the answers that went
    /// through the filter) are there and every stream of `id` and `probe_id` is finished; or,
    /// with nothing expected, until the log is quiet for 100 ms. Then hands over the streams
    /// of the lines read since the last request.
    fn wait_for_streams(
        &mut self,
        id: &str,
        probe_id: &str,
        expected: &[&str],
    ) -> Result<Vec<Stream>> {
        const QUIET: Duration = Duration::from_millis(100);
        let deadline = Instant::now() + self.timeout;
        let mut last_line = Instant::now();
        loop {
            let (read, finished_seen) = self.read_lines(id)?;
            if read > 0 {
                last_line = Instant::now();
            }
            if expected.is_empty() && last_line.elapsed() > QUIET {
                return Ok(self.take_streams());
            }
            if finished_seen && !expected.is_empty() {
                let streams = group_streams(&self.pending);
                let tagged = |tag: &str| -> Vec<&Stream> {
                    streams
                        .iter()
                        .filter(|s| s.request_values(ID_HEADER).any(|v| v == tag))
                        .collect()
                };
                let all_there = expected.iter().all(|tag| !tagged(tag).is_empty());
                let all_finished = [id, probe_id]
                    .iter()
                    .all(|tag| tagged(tag).iter().all(|s| !s.finished.is_empty()));
                if all_there && all_finished {
                    return Ok(self.take_streams());
                }
            }
            if Instant::now() > deadline {
                let streams = self.take_streams();
                self.log_failure(
                    &format!("request {id}"),
                    &format!(
                        "the finished streams of {expected:?} in the log within {} s",
                        self.timeout.as_secs_f64()
                    ),
                    "not there",
                    streams.iter().flat_map(|s| s.lines.clone()).collect(),
                );
                return Ok(streams);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The streams of the filter lines read so far, which are then forgotten.
    fn take_streams(&mut self) -> Vec<Stream> {
        let streams = group_streams(&self.pending);
        self.pending.clear();
        streams
    }

    /// Reads and checks new lines; how many, and whether a `finished` line came among them.
    fn read_lines(&mut self, id: &str) -> Result<(usize, bool)> {
        self.read_access_lines(id)?;
        let mut finished = false;
        let lines = self.reader.new_lines()?;
        let read = lines.len();
        for raw in lines {
            self.summary.log_lines += 1;
            self.check_secret(&raw, id);
            match classify(&raw) {
                Ok(Line::Filter(line)) => {
                    self.summary.filter_lines += 1;
                    match classify_message(&line.message) {
                        Event::Finished(_) => finished = true,
                        Event::Other => self.log_failure(
                            &format!("around request {id}"),
                            "only header and `finished` lines from the filter",
                            &line.message,
                            vec![line.raw.clone()],
                        ),
                        _ => {}
                    }
                    self.pending.push(line);
                }
                Ok(_) => {}
                Err(why) => self.log_failure(
                    &format!("around request {id}"),
                    "every line of Envoy's log well formed",
                    &why,
                    vec![String::from_utf8_lossy(&raw).into_owned()],
                ),
            }
        }
        Ok((read, finished))
    }

    /// Reads new access log lines: each must be one, and hold no secret.
    fn read_access_lines(&mut self, id: &str) -> Result<()> {
        for raw in self.access.new_lines()? {
            self.summary.log_lines += 1;
            self.check_secret(&raw, id);
            if !matches!(classify(&raw), Ok(Line::Access)) {
                self.log_failure(
                    &format!("around request {id}"),
                    "every line of the access log an access log line",
                    "a line that is not",
                    vec![String::from_utf8_lossy(&raw).into_owned()],
                );
            }
        }
        Ok(())
    }

    fn check_secret(&mut self, raw: &[u8], id: &str) {
        if !self.secrets.find_in(raw, 1).is_empty() {
            self.log_failure(
                &format!("around request {id}"),
                "no secret value anywhere in Envoy's log",
                &format!("the secret token {} in a line", self.secrets.token),
                vec![String::from_utf8_lossy(raw).into_owned()],
            );
        }
    }

    fn record(&mut self, name: &str, case: &Case, id: &str, problems: Vec<Problem>) {
        for p in problems {
            self.summary.failures.push(Failure {
                request: name.to_string(),
                case: Some(case.describe(id, 600)),
                expected: p.expected,
                got: p.got,
                lines: p.lines,
            });
        }
    }

    fn log_failure(&mut self, request: &str, expected: &str, got: &str, lines: Vec<String>) {
        self.summary.failures.push(Failure {
            request: request.to_string(),
            case: None,
            expected: expected.to_string(),
            got: got.to_string(),
            lines,
        });
    }

    /// Stops Envoy (so that everything it buffered reaches the file), checks the rest of the
    /// log, and returns the figures.
    pub fn finish(mut self, envoy: &mut Envoy) -> Result<Summary> {
        envoy.stop();
        self.read_lines("(after the last request)")?;
        for left in [self.reader.unterminated(), self.access.unterminated()] {
            if left.is_empty() {
                continue;
            }
            self.summary.log_lines += 1;
            self.check_secret(&left, "(after the last request)");
            self.log_failure(
                "after Envoy stopped",
                "every line of Envoy's log complete",
                "a line cut short",
                vec![String::from_utf8_lossy(&left).into_owned()],
            );
        }
        let streams = group_streams(&self.pending);
        for stream in streams {
            self.log_failure(
                "after the last request",
                "no filter lines after the last request",
                "a stream",
                stream.lines,
            );
        }
        self.summary.elapsed = self.started.elapsed();
        Ok(self.summary)
    }
}

fn brief(response: &Result<http::Response, String>) -> String {
    match response {
        Ok(r) => format!(
            "{} {}",
            r.status,
            r.text().chars().take(120).collect::<String>()
        ),
        Err(e) => e.clone(),
    }
}
