//! Smoke checks for the wasm filter running in a real Envoy next to httpbin.
//!
//! [`run`] waits for Envoy's admin `/ready`, sends four tagged requests through the listener
//! (`x-smoke-id: <run id>-<n>`), reads Envoy's log from a [`LogSource`] until the tagged streams
//! are complete, and checks headers, the httpbin echo, the log lines, a non-UTF-8 value and
//! redaction against the plugin configuration ([`PluginConfig`], read with the filter's own
//! parser). The outcome is a [`Report`]; a run that could not be carried out is a [`SmokeError`].

mod checks;
mod client;
mod log_source;
mod report;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::time::{Duration, Instant};

pub use checks::{CheckResult, CheckStatus};
use envoy_model::plugin_settings::PluginSettings;
use filter_core::config::PluginConfig;
use filter_core::redaction::{DEFAULT_REDACTED, DEFAULT_REDACTED_QUERY_PARAMS};
pub use log_source::LogSource;
pub use report::Report;

use checks::{LogEvidence, LogView};
use client::{Client, TAG_HEADER, waiting};
use envoy_model::figures::seconds;
use log_source::LogMark;

/// The listener `docker compose up` and envoy.yaml use.
pub const DEFAULT_URL: &str = "http://127.0.0.1:10000";
/// Envoy's admin as envoy.yaml and docker-compose.yml publish it.
pub const DEFAULT_ADMIN: &str = "http://127.0.0.1:9901";
/// Carries an escaped value (`\t`, `\\`) through the log checks.
const PROBE_HEADER: &str = "x-smoke-probe";
/// Carries the non-UTF-8 value `\xff\xfe`.
const BYTES_HEADER: &str = "x-smoke-bytes";

/// What to run against and what to expect.
#[derive(Debug, Clone)]
pub struct Options {
    /// The listener's base URL (requests go to `<url>/headers`, `<url>/status/200`).
    pub url: String,
    /// Envoy's admin base URL (`<admin>/ready` is polled).
    pub admin: String,
    /// Where Envoy's log is read from.
    pub logs: LogSource,
    /// The plugin configuration the filter runs with: the expectations.
    pub config: PluginConfig,
    /// How long to wait for `/ready` to say `LIVE`.
    pub ready_timeout: Duration,
    /// How long to wait for the requests' log lines.
    pub log_timeout: Duration,
    /// Show that smoke waits (spinner or line on stderr).
    pub progress: bool,
}

/// A run that could not be carried out at all (as opposed to a check that failed): nothing was
/// proven either way. Every message says what to do next; callers map any of these to exit
/// code 2. Each kind holds its whole message, which is all it displays: the message already
/// holds the cause, so there is no `source()` (an anyhow `{:#}` chain would print it twice).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub enum SmokeError {
    /// Envoy's admin never answered `GET /ready` with `LIVE` in time.
    EnvoyUnreachable(String),
    /// Envoy's admin is ready but the listener does not answer (wrong `--url`?).
    ListenerUnreachable(String),
    /// Envoy answered before but stopped answering in the middle of the run.
    EnvoyWentAway(String),
    /// The log source could not be read (a command failed or is missing, a file is missing).
    LogSource(String),
    /// The plugin or Envoy configuration could not be read or parsed.
    Config(String),
}

impl SmokeError {
    /// `admin/ready` did not answer `LIVE` within `waited`; `last_error` is the last answer.
    pub(crate) fn unreachable(admin: &str, waited: Duration, last_error: &str) -> Self {
        Self::EnvoyUnreachable(format!(
            "Envoy is not ready: {admin}/ready did not answer LIVE within {} (last: {last_error}). \
             Is Envoy running? Start it with `docker compose up` or run `cargo xtask run`; \
             if it listens elsewhere, pass --admin and --url (or a longer --ready-timeout)",
            seconds(waited)
        ))
    }

    /// Envoy stopped answering `during` a request (e.g. `GET /headers (x-smoke-id: …-2)`).
    pub(crate) fn went_away(during: &str, error: &str) -> Self {
        Self::EnvoyWentAway(format!(
            "Envoy went away during {during}: {error}. It answered earlier in this run, so it \
             probably crashed or was stopped: look at its log (`docker compose logs envoy`, \
             or the terminal of `cargo xtask run`), start it again and rerun smoke"
        ))
    }
}

/// The last lines of Envoy's log `text` as an [`SmokeError::EnvoyWentAway`] message ends with
/// them; empty when the log is.
fn log_tail(text: &str) -> String {
    match envoy_model::envoy_log::last_lines(text, 15) {
        tail if tail.is_empty() => String::new(),
        tail => format!("\nthe end of Envoy's log:\n  {}", tail.join("\n  ")),
    }
}

/// A configuration error with what to do when the bootstrap can't be used.
fn hinted(error: anyhow::Error) -> SmokeError {
    SmokeError::Config(format!(
        "{error:#} (run smoke from the repository root, or pass --envoy-config FILE or \
         --plugin-config JSON)"
    ))
}

/// The plugin configuration of the (first) wasm filter in an Envoy bootstrap file.
pub fn plugin_config_from_envoy(file: &Path) -> Result<PluginConfig, SmokeError> {
    plugin_config_of(&envoy_model::bootstrap::load(file).map_err(hinted)?, file)
}

/// The plugin configuration of the (first) wasm filter in an already-parsed bootstrap, read
/// with the filter's own parser; `file` names the bootstrap in errors.
pub fn plugin_config_of(
    bootstrap: &serde_json::Value,
    file: &Path,
) -> Result<PluginConfig, SmokeError> {
    let origin = file.display().to_string();
    let filter = envoy_model::bootstrap::wasm_filter(bootstrap, &origin).map_err(hinted)?;
    PluginConfig::parse(filter.plugin_config.as_bytes()).map_err(|e| {
        let field = format!("{}.typed_config.config.configuration", filter.path);
        SmokeError::Config(format!("{origin}: {field}: {e}"))
    })
}

/// The plugin configuration as data ([`PluginSettings`]): what `smoke --print-config` prints.
pub fn settings_of(config: &PluginConfig) -> PluginSettings {
    // Each field by name, in both the pattern and the literal, with no `..`: a new field of
    // PluginConfig does not compile until it is carried over.
    macro_rules! carry {
        ($($field:ident),*) => {{
            let PluginConfig { $($field),* } = config.clone();
            PluginSettings { $($field),* }
        }};
    }
    carry!(
        set_request_headers,
        add_response_headers,
        redact_headers,
        redact_query_params,
        unredacted_headers,
        url_headers,
        max_logged_value_bytes,
        log_headers
    )
}

/// A plugin configuration given as JSON text (e.g. an Istio WasmPlugin's `pluginConfig`).
pub fn plugin_config_from_json(text: &str) -> Result<PluginConfig, SmokeError> {
    PluginConfig::parse(text.as_bytes())
        .map_err(|e| SmokeError::Config(format!("--plugin-config: {e}")))
}

/// A random secret for the redaction check (the standard library's per-process random keys).
fn new_secret() -> String {
    let word = || RandomState::new().build_hasher().finish();
    format!("smoke-secret-{:016x}{:016x}", word(), word())
}

/// Runs the smoke checks once. `Err` means nothing could be proven (Envoy down, log source
/// broken); failed checks are in the [`Report`].
pub async fn run(opts: &Options) -> Result<Report, SmokeError> {
    let started = Instant::now();
    let since = || seconds(started.elapsed());
    let (url, admin, logs) = (&opts.url, &opts.admin, &opts.logs);
    let mut client = Client::new(url, admin)?;
    let run_id = client.run_id.clone();
    log::debug!("run {run_id}: listener {url}, admin {admin}, log from {logs}");
    client.wait_ready(opts.ready_timeout, opts.progress).await?;
    let envoy_version = client.envoy_version().await;
    let mark = logs.mark()?;

    let secret = new_secret();
    let exchanges = match send_requests(&mut client, opts, &secret).await {
        Err(SmokeError::EnvoyWentAway(message)) => {
            // The end of the log (best effort) may say why.
            let text = logs.fetch_since(&mark).unwrap_or_default();
            return Err(SmokeError::EnvoyWentAway(message + &log_tail(&text)));
        }
        answered => answered?,
    };

    log::debug!("{} requests answered after {}", exchanges.len(), since());
    let tags: Vec<&str> = exchanges.iter().map(|e| e.tag.as_str()).collect();
    let log = collect_log(opts, &mark, &tags).await?;
    log::debug!("log read after {}", since());
    let config = &opts.config;
    let checks = vec![
        checks::response_headers_added(config, &exchanges),
        checks::request_headers_echoed(config, &exchanges[0]),
        checks::log_lines_complete(config, &exchanges, &log),
        checks::non_utf8_survived(config, &exchanges[1], BYTES_HEADER, &exchanges[2], &log),
        checks::secrets_redacted(config, &exchanges[3], &secret, &log),
    ];
    Ok(Report {
        run_id,
        envoy_version,
        url: url.clone(),
        admin: admin.clone(),
        log_source: logs.to_string(),
        checks,
    })
}

/// The run's requests: the echo (with an escaped probe value), the non-UTF-8 value, a plain
/// request after it, and the secrets. Every one carries the run's tag.
async fn send_requests(
    client: &mut Client,
    opts: &Options,
    secret: &str,
) -> Result<Vec<client::Exchange>, SmokeError> {
    let probe = format!("probe\t{}\\ok", client.run_id).into_bytes();
    let echo = client.get("/headers", &[(PROBE_HEADER, probe)]).await?;
    let raw = [(BYTES_HEADER, b"\xff\xfe".to_vec())];
    let bytes = client.get("/headers", &raw).await?;
    let after = client.get("/status/200", &[]).await?;
    // Issue 17: a credential header only the default name rule redacts, and URL headers with
    // the secret in a query and in a fragment.
    let referer = format!("https://app.example/cb?access_token={secret}&keep=1");
    let original_url = format!("/cb?keep=1#id_token={secret}&state=z");
    let mut secret_headers = vec![
        ("authorization", format!("Bearer {secret}").into_bytes()),
        ("x-auth-token", secret.as_bytes().to_vec()),
        ("referer", referer.into_bytes()),
        ("x-original-url", original_url.into_bytes()),
    ];
    // A configured name smoke can send without breaking the request itself.
    let unsendable = [
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "expect",
        TAG_HEADER,
        PROBE_HEADER,
        BYTES_HEADER,
    ];
    let configured = opts.config.redact_headers.iter().find(|n| {
        !n.starts_with(':') && !listed(&DEFAULT_REDACTED, n) && !unsendable.contains(&n.as_str())
    });
    secret_headers.extend(configured.map(|name| (name.as_str(), secret.as_bytes().to_vec())));
    let target = secret_target(&opts.config, secret);
    let secrets = client.get(&target, &secret_headers).await?;
    Ok(vec![echo, bytes, after, secrets])
}

/// Whether `name` is one of `list`, ASCII case-insensitively.
fn listed(list: &[&str], name: &str) -> bool {
    list.iter().any(|d| d.eq_ignore_ascii_case(name))
}

/// The request target of the redaction check: the secret in `access_token` (always redacted),
/// a parameter that is logged as sent (`keep=1`), the secret in a nested URL (`next=`,
/// percent-encoded), and the secret in the first configured name beyond the defaults, if any.
fn secret_target(config: &PluginConfig, secret: &str) -> String {
    let mut target = format!(
        "/headers?access_token={secret}&keep=1&next=https%3A%2F%2Fapp%2Fcb%3Fcode%3D{secret}"
    );
    let mut params = config.redact_query_params.iter();
    if let Some(name) = params.find(|n| !listed(&DEFAULT_REDACTED_QUERY_PARAMS, n)) {
        // Every byte but RFC 3986's unreserved characters is percent-encoded.
        let encoded: String = name
            .bytes()
            .map(|b| match b {
                _ if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        target.push_str(&format!("&{encoded}={secret}"));
    }
    target
}

/// Polls the log source until every tagged stream has its `finished` line (then reads once
/// more, so that a duplicated line shows) or `log_timeout` passes.
async fn collect_log(
    opts: &Options,
    mark: &LogMark,
    tags: &[&str],
) -> Result<LogEvidence, SmokeError> {
    if let Some(reason) = skip_reason(opts, tags) {
        return Ok(LogEvidence::Skipped(reason));
    }
    let fetch = || opts.logs.fetch_since(mark).map(LogView::new);
    let started = Instant::now();
    let mut spinner = None;
    loop {
        let view = fetch()?;
        let waited = started.elapsed();
        let (lines, streams, after) = (view.lines.len(), view.streams.len(), seconds(waited));
        log::trace!("log: {lines} wasm lines, {streams} streams, after {after}");
        if view.all_finished(tags) {
            tokio::time::sleep(opts.logs.poll_interval()).await;
            return Ok(LogEvidence::Fetched(fetch()?));
        }
        if waited >= opts.log_timeout {
            let waited = Some(waited);
            return Ok(LogEvidence::Fetched(LogView { waited, ..view }));
        }
        spinner.get_or_insert_with(|| {
            let what = format!("waiting for the log lines of {} requests", tags.len());
            waiting(opts.progress, &what, opts.log_timeout)
        });
        tokio::time::sleep(opts.logs.poll_interval()).await;
    }
}

/// Why the log checks can't be made, if they can't: no log source, no lines logged, or tags
/// that can't tell the streams apart under the plugin configuration.
fn skip_reason(opts: &Options, tags: &[&str]) -> Option<String> {
    let config = &opts.config;
    let longest = tags.iter().map(|t| t.len()).max().unwrap_or(0);
    let apart = "so the log lines can't be told apart";
    if opts.logs == LogSource::None {
        Some("no log source (--logs none)".into())
    } else if !config.log_headers {
        let reason =
            "log_headers is false in the plugin configuration, so the filter logs no lines";
        Some(reason.into())
    } else if config.is_redacted(TAG_HEADER.as_bytes()) {
        Some(format!("{TAG_HEADER} is in redact_headers, {apart}"))
    } else if config.max_logged_value_bytes < longest {
        Some(format!(
            "max_logged_value_bytes ({}) is shorter than the {TAG_HEADER} values ({longest} \
             bytes), {apart}",
            config.max_logged_value_bytes
        ))
    } else {
        None
    }
}

/// [`run`] on a current-thread runtime, for synchronous callers.
pub fn run_blocking(opts: &Options) -> Result<Report, SmokeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SmokeError::Config(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run(opts))
}

#[cfg(test)]
mod tests;
