//! `smoke`: checks the wasm filter in a running Envoy, from the outside.
//!
//! Exit codes: 0 every check passed, 1 a check failed, 2 the checks could not run (Envoy not
//! reachable, bad arguments, log source or configuration unreadable).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use smoke::{DEFAULT_ADMIN, DEFAULT_URL, LogSource, Options, SmokeError};

/// Checks the wasm filter in a running Envoy: sends requests through Envoy to httpbin, then
/// checks the response headers, httpbin's echo of the request headers, and the filter's lines in
/// Envoy's log.
///
/// Start Envoy first (`docker compose up`, or `cargo xtask run` for the native setup), then run
/// `cargo run -p smoke` from the repository root. The expectations come from the plugin
/// configuration in envoy.yaml, unless --plugin-config gives one.
///
/// Every request carries `x-smoke-id: <run id>-<n>`. The checks: (1) every response has the
/// configured add_response_headers; (2) httpbin's /headers echo shows the configured
/// set_request_headers; (3) the log holds each request's `request header -->` and
/// `response header <--` lines and one `<id> finished` line; (4) a non-UTF-8 header value gets
/// a normal answer, the filter keeps working, and the value is logged escaped (`\xff\xfe`);
/// (5) a secret in `authorization` (and a configured redact_headers name) never reaches the log.
#[derive(Debug, Parser)]
#[command(
    name = "smoke",
    version,
    after_help = "\
Examples:
  cargo run -p smoke                                  # after `docker compose up`
  cargo run -p smoke -- --logs file:envoy.log         # Envoy started with `2> envoy.log`
  cargo run -p smoke -- --logs none                   # no log checks
  # another Envoy, its log read by a command, the plugin configuration given directly:
  cargo run -p smoke -- --url http://127.0.0.1:8080 --admin http://127.0.0.1:15000 \\
      --logs 'cmd:kubectl logs deploy/httpbin -c istio-proxy --since=5m' \\
      --plugin-config '{\"add_response_headers\": {\"x-wasm-header\": \"demo-wasm\"}}'

Exit status: 0 all checks passed, 1 a check failed, 2 the checks could not run."
)]
struct Cli {
    /// Envoy's listener: requests go to <URL>/headers and <URL>/status/200.
    #[arg(long, value_name = "URL", default_value = DEFAULT_URL)]
    url: String,

    /// Envoy's admin interface: smoke first waits until <URL>/ready answers LIVE.
    #[arg(long, value_name = "URL", default_value = DEFAULT_ADMIN)]
    admin: String,

    /// Where to read Envoy's log from: `compose` (`docker compose logs envoy`, run in the current
    /// directory), `compose:SERVICE`, `file:PATH` (a file Envoy's stderr goes to), `cmd:COMMAND`
    /// (any shell command that prints the log), or `none` (skip the log checks).
    #[arg(long, value_name = "SOURCE", default_value = "compose")]
    logs: LogSource,

    /// The Envoy bootstrap whose wasm filter configuration gives the expectations.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "envoy.yaml",
        conflicts_with = "plugin_config"
    )]
    envoy_config: PathBuf,

    /// The plugin configuration (JSON) the filter runs with, instead of reading envoy.yaml; e.g.
    /// an Istio WasmPlugin's pluginConfig.
    #[arg(long, value_name = "JSON")]
    plugin_config: Option<String>,

    /// How long to wait for Envoy to become ready: `30` (seconds), `30s`, `500ms`, `2m`, `1m 30s`.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    ready_timeout: Duration,

    /// How long to wait for the requests' lines to appear in the log.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    log_timeout: Duration,

    /// Print the plugin configuration the checks expect, every default filled in, as JSON, and
    /// exit (0; 2 when it is not valid, with the filter's own message).
    #[arg(long)]
    print_config: bool,

    /// Output format: `text` for people, `json` for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Show diagnostics on stderr: the requests sent, the log commands run, the waits and
    /// their timings (`-vv`: more). `RUST_LOG` (e.g. `RUST_LOG=smoke=debug`) overrides it.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// A duration as humantime reads it (`30s`, `500ms`, `2m`, `1m 30s`); a bare number is seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    text.parse()
        .map(Duration::from_secs)
        .or_else(|_| humantime::parse_duration(text))
        .map_err(|e| format!("`{text}` is not a duration ({e}); try 30s, 500ms or 1m 30s"))
}

/// Sends the `log` diagnostics of smoke (requests sent, commands run, waits, timings) to
/// stderr: as `RUST_LOG` says when it is set, else at debug with one `-v` and at trace with
/// two (nothing without).
fn init_logging(verbose: u8) {
    let level = ["warn", "debug", "trace"][usize::from(verbose.min(2))];
    let default = format!("warn,smoke={level},envoy_model={level}");
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default)).init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    run(&cli).unwrap_or_else(|error| {
        eprintln!("smoke: error: {error:#}");
        ExitCode::from(2)
    })
}

fn run(cli: &Cli) -> Result<ExitCode> {
    let file = &cli.envoy_config;
    let config = match &cli.plugin_config {
        Some(json) => smoke::plugin_config_from_json(json)?,
        None if cli.print_config => smoke::plugin_config_from_envoy(file)?,
        None => smoke::plugin_config_from_envoy(file)
            .with_context(|| format!("reading the expectations from {}", file.display()))?,
    };
    if cli.print_config {
        let settings = serde_json::to_string_pretty(&smoke::settings_of(&config))?;
        println!("{settings}");
        return Ok(ExitCode::SUCCESS);
    }
    if cli.url.trim().is_empty() || cli.admin.trim().is_empty() {
        bail!("--url and --admin must not be empty");
    }
    let opts = Options {
        url: cli.url.clone(),
        admin: cli.admin.clone(),
        logs: cli.logs.clone(),
        config,
        ready_timeout: cli.ready_timeout,
        log_timeout: cli.log_timeout,
        progress: cli.format == Format::Text,
    };
    let report = smoke::run_blocking(&opts).map_err(|err| {
        // Envoy not answering with the expectations from a bootstrap: is its module there?
        let hint = matches!(err, SmokeError::EnvoyUnreachable(_)) && cli.plugin_config.is_none();
        let note = hint.then(|| module_hint(file)).flatten();
        anyhow::anyhow!("{err}{}", note.unwrap_or_default())
            .context("the smoke checks could not run")
    })?;
    match cli.format {
        Format::Text => print!("{}", report.render_text()),
        Format::Json => print!("{}", report.render_json()),
    }
    // 1 when a check failed.
    Ok(ExitCode::from(u8::from(!report.passed())))
}

/// When Envoy does not answer: a likely reason is a missing or broken wasm module, which a
/// native Envoy started from this directory cannot start without. Says so, with the fix, as a
/// `note:` line to add to the error.
fn module_hint(envoy_config: &std::path::Path) -> Option<String> {
    let doc = envoy_model::bootstrap::load(envoy_config).ok()?;
    let filename = envoy_model::bootstrap::wasm_filter(&doc, "").ok()?.filename;
    let problem = envoy_model::module::problem(std::path::Path::new(&filename))?;
    Some(format!(
        "\nnote: {} loads the wasm module {filename}, which {problem}: Envoy started from this directory \
         cannot start without it. Build it with `cargo xtask build`, or use `cargo xtask run`, which builds and starts everything (with `docker \
         compose up` the module lives in the compose volume and this does not apply)",
        envoy_config.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("smoke").chain(args.iter().copied()))
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_fit_the_docker_path() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.url, "http://127.0.0.1:10000");
        assert_eq!(cli.admin, "http://127.0.0.1:9901");
        assert_eq!(cli.logs, LogSource::Compose("envoy".into()));
        assert_eq!(cli.envoy_config, PathBuf::from("envoy.yaml"));
        assert_eq!(
            (cli.ready_timeout, cli.log_timeout),
            (Duration::from_secs(30), Duration::from_secs(10))
        );
        assert_eq!(cli.format, Format::Text);
    }

    #[test]
    fn logs_flag_forms() {
        let logs = |value: &str| parse(&["--logs", value]).map(|c| c.logs);
        assert_eq!(
            logs("file:target/envoy.log").unwrap(),
            LogSource::File("target/envoy.log".into())
        );
        assert_eq!(
            logs("cmd:kubectl logs x -c istio-proxy").unwrap(),
            LogSource::Command("kubectl logs x -c istio-proxy".into())
        );
        assert_eq!(logs("none").unwrap(), LogSource::None);
        assert_eq!(
            logs("compose:proxy").unwrap(),
            LogSource::Compose("proxy".into())
        );
        let err = logs("syslog").unwrap_err().to_string();
        assert!(
            err.contains("use compose, compose:SERVICE, file:PATH, cmd:COMMAND or none"),
            "{err}"
        );
        assert_eq!(logs("file:").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn durations_and_formats() {
        let cli = parse(&[
            "--ready-timeout",
            "500ms",
            "--log-timeout",
            "2m",
            "--format",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.ready_timeout, Duration::from_millis(500));
        assert_eq!(cli.log_timeout, Duration::from_secs(120));
        assert_eq!(cli.format, Format::Json);
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert_eq!(
            parse_duration("1s 500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(
            parse_duration("5 parsecs").is_err()
                && parse_duration("abc").is_err()
                && parse_duration("-1s").is_err()
        );
    }

    #[test]
    fn printed_settings_are_the_parsed_configuration() {
        let cli = parse(&[
            "--print-config",
            "--plugin-config",
            r#"{"log_headers": false}"#,
        ]);
        assert!(cli.unwrap().print_config);
        let config = smoke::plugin_config_from_json(r#"{"log_headers": false}"#).unwrap();
        let settings = smoke::settings_of(&config);
        assert!(!settings.log_headers);
        assert_eq!(settings.redact_headers, config.redact_headers);
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(
            json["set_request_headers"],
            serde_json::json!([["test", "best"]])
        );
    }

    #[test]
    fn plugin_config_and_envoy_config_exclude_each_other() {
        assert!(parse(&["--plugin-config", "{}"]).is_ok());
        assert!(parse(&["--plugin-config", "{}", "--envoy-config", "x.yaml"]).is_err());
    }
}
