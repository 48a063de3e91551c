//! Above info the module logs nothing and reads no header map: one host call asks the level,
//! and the rest only set and add headers. The host calls are counted, not guessed.

use filter_host::{LogLevel, headers};

use crate::util::*;

fn exchange() -> (filter_host::Headers, filter_host::Headers) {
    (
        headers(&[(":path", "/"), ("authorization", "x"), ("x-a", "b")]),
        headers(&[(":status", "200")]),
    )
}

#[test]
fn above_info_no_line_and_no_header_map_read() {
    for level in [LogLevel::Warn, LogLevel::Error, LogLevel::Critical] {
        let mut vm = started(level, &envoy_yaml_config());
        let (request, response) = exchange();
        for _ in 0..3 {
            let stream = vm.stream(&request, &response).expect("no trap");
            assert!(stream.log.is_empty(), "{level:?}: {:?}", stream.log);
            let calls: Vec<(&str, u64)> =
                stream.calls.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            assert_eq!(
                calls,
                [
                    ("proxy_add_header_map_value", 1),
                    ("proxy_get_log_level", 1),
                    ("proxy_replace_header_map_value", 1),
                ],
                "{level:?}: EXPECTED the level asked once, one header set and one added, nothing else"
            );
            assert!(
                vm.state()
                    .request_headers
                    .contains(&(b"test".to_vec(), b"best".to_vec()))
            );
        }
    }
}

#[test]
fn at_info_and_below_the_maps_are_read_once_each() {
    for level in [LogLevel::Info, LogLevel::Debug, LogLevel::Trace] {
        let mut vm = started(level, &envoy_yaml_config());
        let (request, response) = exchange();
        let stream = vm.stream(&request, &response).expect("no trap");
        assert_eq!(
            stream.calls_to("proxy_get_header_map_pairs"),
            2,
            "{level:?}"
        );
        assert_eq!(stream.calls_to("proxy_get_log_level"), 1, "{level:?}");
        // One line per header of both maps (with the set and added ones), and `finished`.
        assert_eq!(stream.calls_to("proxy_log"), 4 + 2 + 1, "{level:?}");
    }
}

#[test]
fn log_headers_false_logs_nothing_and_reads_no_map_at_info() {
    let mut vm = started(LogLevel::Info, r#"{"log_headers": false}"#);
    let (request, response) = exchange();
    let stream = vm.stream(&request, &response).expect("no trap");
    assert!(stream.log.is_empty(), "{:?}", stream.log);
    assert_eq!(stream.calls_to("proxy_get_header_map_pairs"), 0);
    assert_eq!(stream.calls_to("proxy_replace_header_map_value"), 1);
}

#[test]
fn the_level_is_asked_per_stream_so_a_change_at_runtime_applies() {
    let mut vm = started(LogLevel::Warn, &envoy_yaml_config());
    let (request, response) = exchange();
    assert!(vm.stream(&request, &response).unwrap().log.is_empty());
    vm.state_mut().log_level = LogLevel::Info;
    let stream = vm.stream(&request, &response).unwrap();
    assert_eq!(stream.lines_at(LogLevel::Info).len(), 7);
}
