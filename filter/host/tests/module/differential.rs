//! Differential: the hostile suite's generated corpus (filter/testing/src/hostile/generate.rs, the same
//! seeds) through the module, whose lines must equal, byte for byte, what `filter-core`
//! computes natively for the same header maps. Both directions: each case's headers (as Envoy
//! passes them on) are the request map, and, after `:status`, the response map.
//!
//! `HOSTILE_SEED=<n>` replays a seed (a failure prints it).

use std::time::Instant;

use filter_core::logline::{self, Direction};
use filter_host::abi::{Headers, serialize_map};
use filter_host::{LogLevel, LogLine};
use filter_testing::hostile::{self, Case, Secrets, generate};

use crate::util::*;

/// Generated cases per run.
const CASES: usize = 20_000;

/// `HOSTILE_SEED`, or a random one (printed).
fn seed() -> u64 {
    match std::env::var("HOSTILE_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("HOSTILE_SEED={text:?} is not a number")),
        Err(_) => hostile::random_seed(),
    }
}

fn pairs(list: &[(&str, &[u8])]) -> Headers {
    list.iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec()))
        .collect()
}

/// The maps the module gets for `case`.
fn maps(case: &Case) -> (Headers, Headers) {
    let passed_on: Headers = case
        .expected_headers()
        .into_iter()
        .map(|(n, v)| (n.into_bytes(), v))
        .collect();
    let mut request = pairs(&[
        (":authority", hostile::case::HOST.as_bytes()),
        (":path", &case.path),
        (":method", b"GET"),
        (":scheme", b"http"),
    ]);
    request.extend(passed_on.iter().cloned());
    let mut response = pairs(&[(":status", b"200")]);
    response.extend(passed_on);
    (request, response)
}

/// What the core computes for a map after the configured headers were applied to it.
fn native(
    map: &Headers,
    direction: Direction,
    config: &filter_core::PluginConfig,
    out: &mut Vec<String>,
) {
    let mut line = String::new();
    logline::header_lines(
        &serialize_map(map),
        direction,
        config,
        &mut line,
        &mut |l| out.push(l.to_string()),
    )
    .expect("a well-formed map");
}

#[test]
fn the_hostile_corpus_logs_what_the_native_core_computes() {
    let config_text = envoy_yaml_config();
    let config = parsed(&config_text);
    let secret_names: Vec<String> = config
        .redact_headers
        .iter()
        .filter(|n| n.as_str() != "set-cookie")
        .cloned()
        .collect();
    let seed = seed();
    let mut vm = started(LogLevel::Info, &config_text);
    let clock = Instant::now();
    let mut lines = 0;
    for case in generate::corpus(seed, &Secrets::random(), &secret_names).take(CASES) {
        let (request, response) = maps(&case);
        let stream = vm.stream(&request, &response).unwrap_or_else(|e| {
            panic!(
                "{}: the module trapped: {e:#}\n(replay: HOSTILE_SEED={seed})",
                case.label
            )
        });

        let mut set = request.clone();
        for (name, value) in &config.set_request_headers {
            set.retain(|(n, _)| n != name.as_bytes());
            set.push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        }
        let mut added = response.clone();
        for (name, value) in &config.add_response_headers {
            added.push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        }
        let mut expected = Vec::new();
        native(&set, Direction::Request, &config, &mut expected);
        native(&added, Direction::Response, &config, &mut expected);
        expected.push(format!("{} finished", stream.id));

        let got: Vec<String> = stream.log.iter().map(LogLine::text).collect();
        if got != expected || stream.log.iter().any(|l| l.level != Some(LogLevel::Info)) {
            assert_lines(
                &format!("{} (replay: HOSTILE_SEED={seed})", case.label),
                &got,
                &expected,
            );
            panic!("{}: a line not at info: {:?}", case.label, stream.log);
        }
        assert!(
            stream
                .log
                .iter()
                .all(|l| std::str::from_utf8(&l.message).is_ok()),
            "{}: a line is not UTF-8",
            case.label
        );
        lines += got.len();
    }
    eprintln!(
        "differential: {CASES} generated cases (seed {seed}), {lines} lines equal to the native core's, in {:.2} s",
        clock.elapsed().as_secs_f64()
    );
}
