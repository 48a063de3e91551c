//! Every kind of configuration error the README names: `on_configure` returns false and the
//! module logs one critical line, the one the core's parser words natively.

use filter_host::{HostState, LogLevel, Vm};

use crate::util::*;

/// One configuration per kind of error in the README's "Plugin configuration" section, and the
/// field its message must name.
const BAD: &[(&str, &str)] = &[
    // the README's example: an invalid header name
    (
        r#"{"add_response_headers": {"X Y": "demo-wasm"}}"#,
        "add_response_headers.\"X Y\"",
    ),
    (
        r#"{"set_request_headers": {"": "v"}}"#,
        "set_request_headers.\"\"",
    ),
    (r#"{"redact_headers": ["a b"]}"#, "redact_headers[0]"),
    // pseudo-headers can't be set or added
    (
        r#"{"set_request_headers": {":path": "/"}}"#,
        "set_request_headers.\":path\"",
    ),
    // unknown fields
    (r#"{"log_header": true}"#, "log_header"),
    // wrong types
    (r#"{"log_headers": "yes"}"#, "log_headers"),
    (
        r#"{"set_request_headers": ["test", "best"]}"#,
        "set_request_headers",
    ),
    (
        r#"{"add_response_headers": {"x": 1}}"#,
        "add_response_headers.x",
    ),
    (r#"{"redact_headers": "x-api-key"}"#, "redact_headers"),
    (
        r#"{"max_logged_value_bytes": "1024"}"#,
        "max_logged_value_bytes",
    ),
    // header and value: both or neither
    (r#"{"header": "x-wasm-header"}"#, "value"),
    (r#"{"value": "demo-wasm"}"#, "header"),
    // max_logged_value_bytes: an integer from 1 to 65536
    (r#"{"max_logged_value_bytes": 0}"#, "max_logged_value_bytes"),
    (
        r#"{"max_logged_value_bytes": 65537}"#,
        "max_logged_value_bytes",
    ),
    (
        r#"{"max_logged_value_bytes": 1.5}"#,
        "max_logged_value_bytes",
    ),
    // values must not hold control characters other than tab
    (
        r#"{"add_response_headers": {"x": "a\rb"}}"#,
        "add_response_headers.x",
    ),
    (
        r#"{"set_request_headers": {"x": "a\u0000b"}}"#,
        "set_request_headers.x",
    ),
    // duplicate names, the top level, JSON syntax
    (
        r#"{"set_request_headers": {"X-A": "1", "x-a": "2"}}"#,
        "set_request_headers",
    ),
    (
        r#"{"log_headers": true, "log_headers": false}"#,
        "log_headers",
    ),
    (r#"["log_headers"]"#, "(top level)"),
    (r#"{"log_headers": true} x"#, ""),
    ("{\"log_headers\": tru", ""),
];

#[test]
fn every_configuration_error_refuses_with_the_filters_critical_line() {
    for (config, field) in BAD {
        let expected = filter_core::PluginConfig::parse(config.as_bytes())
            .expect_err(config)
            .message();
        let mut vm = Vm::new(filter(), HostState::new(LogLevel::Info, config.as_bytes()))
            .expect("instantiated");
        let accepted = vm
            .start()
            .unwrap_or_else(|e| panic!("{config}: trapped: {e:#}"));
        assert!(!accepted, "on_configure accepted {config}");
        let lines: Vec<(Option<LogLevel>, String)> =
            vm.state().log.iter().map(|l| (l.level, l.text())).collect();
        assert_eq!(
            lines,
            [(Some(LogLevel::Critical), expected.clone())],
            "{config}: EXPECTED one critical line, the core's message"
        );
        assert!(
            expected.starts_with("invalid plugin configuration: "),
            "{config}: {expected}"
        );
        assert!(
            expected.contains(field),
            "{config}: {expected} does not name `{field}`"
        );
    }
}

#[test]
fn valid_configurations_are_accepted_silently() {
    for config in [
        "",
        "  ",
        "{}",
        &envoy_yaml_config(),
        r#"{"header": "x-wasm-header", "value": "demo-wasm"}"#,
    ] {
        let vm = started(LogLevel::Info, config);
        assert!(
            vm.state().log.is_empty(),
            "{config:?}: {:?}",
            vm.state().log
        );
    }
}
