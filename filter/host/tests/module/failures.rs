//! A host call that fails (any error status) never traps the module: the stream goes on, the
//! failure is logged at warning where it can be, and the next stream is normal again.

use filter_core::logline;
use filter_host::{HostState, LogLevel, Vm, headers};

use crate::util::*;

/// Every host call the filter makes.
const IMPORTS: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_buffer_bytes",
    "proxy_get_header_map_pairs",
    "proxy_replace_header_map_value",
    "proxy_add_header_map_value",
];
/// NotFound, BadArgument, InternalFailure, Unimplemented, and a status no ABI names.
const STATUSES: &[u32] = &[1, 2, 10, 12, u32::MAX];

fn exchange() -> (filter_host::Headers, filter_host::Headers) {
    (headers(&[(":path", "/")]), headers(&[(":status", "200")]))
}

#[test]
fn no_failing_host_call_traps_the_module() {
    let config = envoy_yaml_config();
    let (request, response) = exchange();
    for import in IMPORTS {
        for status in STATUSES {
            let what = format!("{import} failing with status {status}");
            let mut state = HostState::new(LogLevel::Info, config.as_bytes());
            state.failing.insert(import.to_string(), *status);
            let mut vm = Vm::new(filter(), state).expect("instantiated");
            let started = vm
                .start()
                .unwrap_or_else(|e| panic!("{what}: trapped: {e:#}"));
            let refuses = *import == "proxy_get_buffer_bytes" && *status != 1;
            assert_eq!(started, !refuses, "{what}: on_configure");
            if !started {
                continue;
            }
            for _ in 0..2 {
                vm.stream(&request, &response)
                    .unwrap_or_else(|e| panic!("{what}: trapped: {e:#}"));
            }
            vm.state_mut().failing.clear();
            let after = vm
                .stream(&request, &response)
                .unwrap_or_else(|e| panic!("{what}, then none: trapped: {e:#}"));
            // NotFound for the configuration means none: the defaults add no response header.
            let lines = if *import == "proxy_get_buffer_bytes" {
                4
            } else {
                5
            };
            assert_eq!(
                after.lines_at(LogLevel::Info).len(),
                lines,
                "{what}, then none: {:?}",
                after.log
            );
        }
    }
}

/// The warning the filter logs for a failed call, as the core words it.
fn warning(what: &str, subject: &str, status: u32) -> String {
    let mut line = String::new();
    logline::host_failure(&mut line, what, subject, status);
    line
}

#[test]
fn failures_are_logged_at_warning_with_the_status() {
    let (request, response) = exchange();
    let cases = [
        (
            "proxy_replace_header_map_value",
            "can't set request header",
            "test",
        ),
        (
            "proxy_add_header_map_value",
            "can't add response header",
            "x-wasm-header",
        ),
        ("proxy_get_header_map_pairs", "can't read the headers", ""),
    ];
    for (import, what, subject) in cases {
        let mut vm = started(LogLevel::Info, &envoy_yaml_config());
        vm.state_mut().failing.insert(import.to_string(), 10);
        let stream = vm.stream(&request, &response).expect("no trap");
        let warnings = stream.lines_at(LogLevel::Warn);
        assert!(
            warnings.contains(&warning(what, subject, 10)),
            "{import}: EXPECTED {:?}; GOT {warnings:?}",
            warning(what, subject, 10)
        );
    }
}

#[test]
fn an_unreadable_configuration_is_refused_with_a_critical_line() {
    let mut state = HostState::new(LogLevel::Info, b"{}");
    state.failing.insert("proxy_get_buffer_bytes".into(), 10);
    let mut vm = Vm::new(filter(), state).expect("instantiated");
    assert!(!vm.start().expect("no trap"));
    let lines: Vec<String> = vm.state().log.iter().map(|l| l.text()).collect();
    assert_eq!(
        lines,
        [warning("can't read the plugin configuration", "", 10)]
    );
    assert_eq!(vm.state().log[0].level, Some(LogLevel::Critical));
}

#[test]
fn when_the_level_cant_be_read_the_stream_logs() {
    let mut vm = started(LogLevel::Info, &envoy_yaml_config());
    vm.state_mut()
        .failing
        .insert("proxy_get_log_level".into(), 10);
    let (request, response) = exchange();
    let stream = vm.stream(&request, &response).expect("no trap");
    assert_eq!(stream.lines_at(LogLevel::Info).len(), 5, "{:?}", stream.log);
}
