//! Tests of the run's pieces that need no Envoy: the log checks' skip reasons, the secret
//! target, the configuration readers, and the errors' messages.

use super::*;

#[test]
fn tags_must_survive_the_configuration() {
    let tags = ["smoke-1763926717359-13791-1"];
    let untraceable = |config: &PluginConfig, tags: &[&str]| {
        let opts = Options {
            url: DEFAULT_URL.into(),
            admin: DEFAULT_ADMIN.into(),
            logs: LogSource::default(),
            config: config.clone(),
            ready_timeout: Duration::from_secs(30),
            log_timeout: Duration::from_secs(10),
            progress: false,
        };
        skip_reason(&opts, tags)
    };
    assert_eq!(untraceable(&PluginConfig::default(), &tags), None);
    let short = plugin_config_from_json(r#"{"max_logged_value_bytes": 8}"#).unwrap();
    assert!(
        untraceable(&short, &tags)
            .unwrap()
            .starts_with("max_logged_value_bytes (8) is shorter")
    );
    let redacted = plugin_config_from_json(r#"{"redact_headers": ["X-Smoke-Id"]}"#).unwrap();
    assert!(
        untraceable(&redacted, &tags)
            .unwrap()
            .starts_with("x-smoke-id is in redact_headers")
    );
}

#[test]
fn the_secret_target_holds_the_configured_parameter_encoded() {
    let config = PluginConfig::default();
    let base = "/headers?access_token=S&keep=1&next=https%3A%2F%2Fapp%2Fcb%3Fcode%3DS";
    assert_eq!(secret_target(&config, "S"), base);
    let config =
        plugin_config_from_json(r#"{"redact_query_params": ["TOKEN", "my key/ü"]}"#).unwrap();
    assert_eq!(
        secret_target(&config, "S"),
        format!("{base}&my%20key%2F%C3%BC=S")
    );
}

#[test]
fn secrets_differ() {
    assert_ne!(new_secret(), new_secret());
    assert!(new_secret().starts_with("smoke-secret-"));
}

#[test]
fn config_from_json_and_errors() {
    let config = plugin_config_from_json(r#"{"add_response_headers": {"x-a": "b"}}"#).unwrap();
    assert_eq!(
        config.add_response_headers,
        [("x-a".to_string(), "b".to_string())]
    );
    let err = plugin_config_from_json("{").unwrap_err().to_string();
    assert!(
        err.starts_with("--plugin-config: invalid plugin configuration"),
        "{err}"
    );
    let err = plugin_config_from_envoy(Path::new("no/such/envoy.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot read no/such/envoy.yaml") && err.contains("--envoy-config"),
        "{err}"
    );
}

#[test]
fn dead_envoy_is_an_error_not_a_failed_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = Options {
        url: format!("http://127.0.0.1:{port}"),
        admin: format!("http://127.0.0.1:{port}"),
        logs: LogSource::None,
        config: PluginConfig::default(),
        ready_timeout: Duration::from_millis(300),
        log_timeout: Duration::from_secs(10),
        progress: false,
    };
    let err = run_blocking(&opts).unwrap_err();
    assert!(matches!(err, SmokeError::EnvoyUnreachable { .. }), "{err}");
}

#[test]
fn messages_say_what_to_do() {
    let e = SmokeError::unreachable(
        "http://127.0.0.1:9901",
        Duration::from_secs(30),
        "connection refused",
    );
    let text = e.to_string();
    assert!(
        text.contains("http://127.0.0.1:9901/ready did not answer LIVE within 30.00 s"),
        "{text}"
    );
    assert!(
        text.contains(
            "Is Envoy running? Start it with `docker compose up` or run `cargo xtask run`"
        )
    );
    let e = SmokeError::went_away("GET /headers", "timed out");
    assert_eq!(log_tail(""), "");
    let text = e.to_string() + &log_tail("[critical][main] caught SIGSEGV\n");
    assert!(
        text.starts_with("Envoy went away during GET /headers: timed out."),
        "{text}"
    );
    assert!(
        text.ends_with("the end of Envoy's log:\n  [critical][main] caught SIGSEGV"),
        "{text}"
    );
}
