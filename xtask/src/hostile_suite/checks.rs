//! The checks on one request: what the client got, and the filter's log lines for its stream.
//!
//! A request either reached the filter (its stream is in the log: then the client must get
//! httpbin's answer through the filter, never a 5xx, and every logged header must match what
//! Envoy passed on, escaped, redacted and cut as documented) or Envoy refused it (a 4xx of
//! Envoy's own, or a closed connection, and no log lines for it at all).

use envoy_model::envoy_log::{Stream, streams_with};

use super::stream_lines::{Expectations, check_request_lines, check_response_lines};
use super::verdict::{Fate, Verdict};
use envoy_model::http::Response;
use filter_testing::hostile::case::{Case, ID_HEADER};

/// Checks request `case`, tagged `id`, given what the client got (`Err`: no answer) and the
/// streams the filter logged meanwhile.
pub fn check_request(
    expect: &Expectations,
    case: &Case,
    id: &str,
    response: &Result<Response, String>,
    streams: &[Stream],
) -> Verdict {
    let tagged = streams_with(streams, ID_HEADER, id);
    let Some(stream) = tagged.first() else {
        return refused(expect, response);
    };
    let lines = &stream.lines;
    let response = match response {
        Ok(response) => response,
        Err(err) => {
            let fate = Fate::Other(format!("no answer after the filter: {err}"));
            let mut verdict = Verdict::new(fate);
            let expected = "httpbin's answer (the request reached the filter)";
            verdict.fail(expected, format!("no answer: {err}"), lines);
            return verdict;
        }
    };
    let status = response.status;
    let mut verdict = Verdict::new(Fate::Reached(status));
    if tagged.len() > 1 {
        let got = format!("{} streams tagged {ID_HEADER}: {id}", tagged.len());
        verdict.fail("one stream in the log per request", got, lines);
    }
    if status >= 500 {
        let got = describe_5xx(response);
        verdict.fail("httpbin's answer, never a 5xx", got, lines);
    }
    for (name, value) in &expect.add_response {
        if response.header(name).as_deref() != Some(value.as_str()) {
            let expected = format!("the response header the filter adds: {name}: {value}");
            verdict.fail(
                expected,
                format!("{name}: {:?}", response.header(name)),
                lines,
            );
        }
    }
    if stream.finished.len() != 1 {
        let got = format!("{:?}", stream.finished);
        verdict.fail("exactly one `<id> finished` line", got, lines);
    }
    if case.expects_secret_cookie && status < 400 && response.header("set-cookie").is_none() {
        verdict.fail(
            "httpbin's set-cookie (holding the secret) in the response",
            "no set-cookie: the secret never went through the filter, the case proves nothing",
            lines,
        );
    }
    check_request_lines(expect, case, id, stream, &mut verdict);
    check_response_lines(expect, response, stream, &mut verdict);
    verdict
}

/// No stream in the log: Envoy must have refused the request itself.
fn refused(expect: &Expectations, response: &Result<Response, String>) -> Verdict {
    let Ok(response) = response else {
        return Verdict::new(Fate::Refused(None));
    };
    let status = response.status;
    let (expected, got) = if !expect.add_response.is_empty() && expect.through_filter(response) {
        (
            format!("log lines tagged {ID_HEADER} (the response went through the filter)"),
            format!("{status} with the filter's response header but no stream in the log"),
        )
    } else if (400..500).contains(&status) {
        return Verdict::new(Fate::Refused(Some(status)));
    } else if status >= 500 {
        (ANSWER_OR_4XX.into(), describe_5xx(response))
    } else {
        let got = format!("{status} without the filter's lines");
        (ANSWER_OR_4XX.into(), got)
    };
    let mut verdict = Verdict::new(Fate::Other(got.clone()));
    verdict.fail(expected, got, &[]);
    verdict
}

const ANSWER_OR_4XX: &str = "httpbin's answer through the filter, or Envoy's own 4xx";

fn describe_5xx(response: &Response) -> String {
    if response.status == 503 && response.body.is_empty() {
        "503 with an empty body: the filter trapped (FAIL_CLOSED)".into()
    } else {
        brief(response)
    }
}

/// The status and the start of the body.
pub fn brief(response: &Response) -> String {
    let text: String = response.text().chars().take(200).collect();
    format!("{}: {text}", response.status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostile_suite::verdict::Problem;
    use envoy_model::envoy_log::{group_streams, wasm_lines};
    use filter_core::config::PluginConfig;
    use filter_testing::hostile::case::Header;

    fn expect() -> Expectations {
        let mut config = PluginConfig {
            add_response_headers: vec![("x-wasm-header".into(), "demo-wasm".into())],
            ..PluginConfig::default()
        };
        config.redact_headers.push("x-api-key".into());
        Expectations::from_config(&smoke::settings_of(&config))
    }

    fn log(messages: &[&str]) -> Vec<Stream> {
        let text: Vec<String> = messages
            .iter()
            .map(|m| {
                format!(
                    "[2026-11-23 20:50:09.226][7][info][wasm] [source/extensions/common/wasm/context.cc:1151] \
                     wasm log http-headers http-headers-root http-headers-vm: {m}"
                )
            })
            .collect();
        group_streams(&wasm_lines(&text.join("\n")))
    }

    fn ok_response() -> Result<Response, String> {
        Ok(Response {
            status: 200,
            headers: vec![
                ("content-type".into(), b"application/json".to_vec()),
                ("x-wasm-header".into(), b"demo-wasm".to_vec()),
            ],
            body: b"{}".to_vec(),
        })
    }

    /// The lines the filter writes for `case` sent with id 1, with `value` logged for x-v.
    fn stream_lines(value: &str) -> Vec<String> {
        [
            "request header --> :authority: hostile.test",
            "request header --> :path: /headers",
            "request header --> :method: GET",
            "request header --> :scheme: http",
            "request header --> x-hostile-id: 1",
            &format!("request header --> x-v: {value}"),
            "request header --> authorization: [redacted]",
            "request header --> x-forwarded-proto: http",
            "request header --> x-request-id: 0f0e",
            "request header --> test: best",
            "response header <-- :status: 200",
            "response header <-- content-type: application/json",
            "response header <-- x-wasm-header: demo-wasm",
            "2 finished",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn case() -> Case {
        Case::new(
            "t",
            "/headers",
            vec![
                Header::new("X-V", b" a\xff\rb ".to_vec()),
                Header::new("Authorization", "Bearer S3cr3t"),
            ],
        )
    }

    fn run(lines: &[String]) -> (Fate, Vec<Problem>) {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let verdict = check_request(&expect(), &case(), "1", &ok_response(), &log(&refs));
        (verdict.fate, verdict.problems)
    }

    #[test]
    fn the_right_lines_pass() {
        let refs: Vec<String> = stream_lines("a\\xffb");
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        let verdict = check_request(&expect(), &case(), "1", &ok_response(), &log(&refs));
        assert_eq!(verdict.fate, Fate::Reached(200));
        assert!(verdict.problems.is_empty(), "{:#?}", verdict.problems);
        // 4 pseudo-headers, the id, 2 added by Envoy, test; x-v, authorization; 2 response.
        assert_eq!(verdict.values_checked, 12);
    }

    #[test]
    fn a_wrongly_escaped_value_fails() {
        let (_, problems) = run(&stream_lines("a\u{FFFD}b"));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].expected.contains("x-v: a\\xffb"),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_leaked_secret_fails() {
        let mut lines = stream_lines("a\\xffb");
        lines[6] = "request header --> authorization: Bearer S3cr3t".into();
        let (_, problems) = run(&lines);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].got.contains("Bearer S3cr3t"));
    }

    #[test]
    fn a_forged_line_fails() {
        // What `x-v: a\r\nrequest header --> x-hostile-forged: 1` would leave unescaped.
        let mut lines = stream_lines("a");
        lines.insert(6, "request header --> x-hostile-forged: 1".into());
        let (_, problems) = run(&lines);
        assert!(
            problems.iter().any(|p| p.got.contains("x-hostile-forged")),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_trap_fails_and_a_refusal_passes() {
        let trapped = Ok(Response {
            status: 503,
            headers: vec![],
            body: vec![],
        });
        let verdict = check_request(&expect(), &case(), "1", &trapped, &[]);
        assert_eq!(
            verdict.fate,
            Fate::Other("503 with an empty body: the filter trapped (FAIL_CLOSED)".into())
        );
        assert_eq!(verdict.problems.len(), 1, "{verdict:#?}");
        let refused = Ok(Response {
            status: 400,
            headers: vec![],
            body: b"Bad Request".to_vec(),
        });
        let verdict = check_request(&expect(), &case(), "1", &refused, &[]);
        assert_eq!(
            (verdict.fate, verdict.problems.len()),
            (Fate::Refused(Some(400)), 0)
        );
    }

    #[test]
    fn a_cut_value_must_say_so() {
        let long = vec![b'a'; 1030];
        let case = Case::new("t", "/headers", vec![Header::new("x-v", long)]);
        let mut lines = stream_lines(&"a".repeat(1024));
        lines.remove(6);
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let problems = check_request(&expect(), &case, "1", &ok_response(), &log(&refs)).problems;
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0]
                .expected
                .contains("[truncated: 1024 of 1030 bytes]")
        );
    }
}
