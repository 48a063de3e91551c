//! HTTP to Envoy: waits for its admin `/ready`, then sends tagged requests through the listener.
//!
//! Every request of a run carries `x-smoke-id: <run id>-<n>`, so its log lines can be told apart
//! from other traffic and from earlier runs. Each request has a timeout, so a dead Envoy ends
//! the run quickly instead of hanging it.

use std::io::IsTerminal;
use std::time::{Duration, Instant, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::header::{HeaderName, HeaderValue};

use envoy_model::ready::{self, NotReady};

use crate::SmokeError;
use envoy_model::figures::seconds;

/// The header that tags every request of a run.
pub const TAG_HEADER: &str = "x-smoke-id";
/// How long one request through Envoy may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One `GET` sent through Envoy and the answer it got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    /// The value of the `x-smoke-id` header it carried.
    pub tag: String,
    /// Path and query, e.g. `/headers`.
    pub path: String,
    /// The headers smoke set explicitly (names lower-case), the tag included.
    pub sent: Vec<(String, Vec<u8>)>,
    /// The response status.
    pub status: u16,
    /// The response headers (names lower-case), in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The response body.
    pub body: Vec<u8>,
}

impl Exchange {
    /// The values of response header `name` (ASCII case-insensitive).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// `GET /headers (x-smoke-id: …)`, to name the request in messages.
    pub fn describe(&self) -> String {
        format!("GET {} ({TAG_HEADER}: {})", self.path, self.tag)
    }
}

/// Sends a run's requests; numbers them for the tag.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    admin: String,
    /// Unique per run: `smoke-<start time in milliseconds>-<process id>`.
    pub run_id: String,
    sent: u32,
}

impl Client {
    /// A client for the listener `url` and the admin `admin` (base URLs, no trailing path).
    /// Its run id is new.
    pub fn new(url: &str, admin: &str) -> Result<Self, SmokeError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| {
                SmokeError::Config(format!("cannot build the HTTP client: {}", chain(&e)))
            })?;
        let started = UNIX_EPOCH.elapsed().unwrap_or_default();
        Ok(Self {
            http,
            url: url.trim_end_matches('/').to_string(),
            admin: admin.trim_end_matches('/').to_string(),
            run_id: format!("smoke-{}-{}", started.as_millis(), std::process::id()),
            sent: 0,
        })
    }

    /// The version of the running Envoy, from its admin `/server_info` (`"version":
    /// "<commit>/1.40.0/Clean/RELEASE/BoringSSL"` → `1.40.0`); `None` if it does not say.
    pub async fn envoy_version(&self) -> Option<String> {
        let url = format!("{}/server_info", self.admin);
        let answer = self.http.get(url).timeout(Duration::from_secs(2)).send();
        let body = answer.await.ok()?.bytes().await.ok()?;
        let info: serde_json::Value = serde_json::from_slice(&body).ok()?;
        envoy_model::release_of(info.get("version")?.as_str()?)
    }

    /// Waits for the admin's `/ready` to say `LIVE` ([`envoy_model::ready::wait`], on a
    /// blocking thread), for at most `timeout`. Shows that it waits (see [`waiting`]) when
    /// `progress` is set and the first probe fails.
    pub async fn wait_ready(&self, timeout: Duration, progress: bool) -> Result<(), SmokeError> {
        let admin = self.admin.clone();
        let unreachable = |waited, last: &str| SmokeError::unreachable(&admin, waited, last);
        let addr = ready::admin_addr(&admin).map_err(|e| unreachable(Duration::ZERO, &e))?;
        let what = format!("waiting for Envoy: {admin}/ready");
        let wait = move || {
            let mut spinner = None;
            let mut show = |last: &str| {
                let spinner = spinner.get_or_insert_with(|| waiting(progress, &what, timeout));
                spinner.set_message(format!("({last})"));
            };
            ready::wait(addr, timeout, || None, &mut show)
        };
        match tokio::task::spawn_blocking(wait).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(NotReady::TimedOut { waited, last })) => Err(unreachable(waited, &last)),
            Ok(Err(gone)) => Err(unreachable(timeout, &gone.to_string())),
            Err(panicked) => Err(unreachable(Duration::ZERO, &panicked.to_string())),
        }
    }

    /// Sends `GET <url><path>` with the run's next tag and `headers` (name, raw value bytes).
    /// A connection error or timeout is [`SmokeError::EnvoyWentAway`] (or
    /// [`SmokeError::ListenerUnreachable`] when no request has been answered yet and the admin
    /// is still ready).
    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(&str, Vec<u8>)],
    ) -> Result<Exchange, SmokeError> {
        self.sent += 1;
        let tag = format!("{}-{}", self.run_id, self.sent);
        let sent: Vec<(String, Vec<u8>)> = std::iter::once((TAG_HEADER, tag.clone().into_bytes()))
            .chain(headers.iter().cloned())
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect();
        let mut request = self.http.get(format!("{}{path}", self.url));
        for (name, value) in &sent {
            let bad = |what| format!("cannot send header {name:?}: not a valid HTTP header {what}");
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("name"));
            let value = HeaderValue::from_bytes(value).map_err(|_| bad("value"));
            request = request.header(
                name.map_err(SmokeError::Config)?,
                value.map_err(SmokeError::Config)?,
            );
        }
        let mut ex = Exchange {
            tag,
            path: path.into(),
            sent,
            ..Exchange::default()
        };
        let started = Instant::now();
        let answer = async {
            let response = request.send().await?;
            ex.status = response.status().as_u16();
            let headers = response.headers().iter();
            ex.headers = headers
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect();
            ex.body = response.bytes().await?.to_vec();
            Ok::<(), reqwest::Error>(())
        };
        let answer = answer.await.map_err(|e| describe_error(&e));
        let shown = answer.as_ref().map_or_else(Clone::clone, |()| {
            format!("{} ({} body bytes)", ex.status, ex.body.len())
        });
        let took = seconds(started.elapsed());
        log::debug!("{}: {shown} after {took}", ex.describe());
        match answer {
            Ok(()) => Ok(ex),
            // Ready now: one probe, no wait.
            Err(error)
                if self.sent == 1 && self.wait_ready(Duration::ZERO, false).await.is_ok() =>
            {
                Err(SmokeError::ListenerUnreachable(format!(
                    "Envoy's admin is ready but its listener {} does not answer ({error}); \
                     pass the listener's address with --url",
                    self.url
                )))
            }
            Err(error) => Err(SmokeError::went_away(&ex.describe(), &error)),
        }
    }
}

/// A short reason for a failed request: timeout, refused connection, or the error chain.
fn describe_error(e: &reqwest::Error) -> String {
    let text = chain(e);
    if e.is_timeout() {
        format!("no answer within {}", seconds(REQUEST_TIMEOUT))
    } else if e.is_connect() && text.contains("refused") {
        "connection refused".into()
    } else {
        text
    }
}

/// Shows on stderr that smoke is waiting for `what`, for at most `timeout`: a spinner on a
/// terminal (cleared when dropped; its message shows the latest state), one plain line
/// otherwise, nothing when `progress` is off.
pub(crate) fn waiting(progress: bool, what: &str, timeout: Duration) -> ProgressBar {
    let what = format!("{what} (up to {})", seconds(timeout));
    if !progress || !std::io::stderr().is_terminal() {
        if progress {
            eprintln!("smoke: {what}");
        }
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{spinner} {prefix} {elapsed} {msg}");
    let spinner = ProgressBar::new_spinner()
        .with_style(style.unwrap_or_else(|_| ProgressStyle::default_spinner()))
        .with_prefix(what);
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// An error and its causes, `a: b: c`, for errors that hide their cause in `source()`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    for cause in std::iter::successors(error.source(), |e| e.source()) {
        let part = cause.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
    }
    text
}

/// `GET … answered <status>` for each of `exchanges` not answered 200.
pub fn not_200(exchanges: &[&Exchange]) -> Vec<String> {
    let failed = exchanges.iter().filter(|ex| ex.status != 200);
    failed
        .map(|ex| format!("{} answered {}", ex.describe(), ex.status))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_release_of_a_build_version() {
        let release = envoy_model::release_of;
        let version = "9e55/1.40.0/Clean/RELEASE/BoringSSL";
        assert_eq!(release(version).as_deref(), Some("1.40.0"));
        assert_eq!(release("abc/dev"), None);
        assert_eq!(release(""), None);
    }

    #[test]
    fn run_ids_differ_per_run_and_tags_per_request() {
        let client = Client::new("http://127.0.0.1:1/", "http://127.0.0.1:2").unwrap();
        let id = &client.run_id;
        assert!(id.starts_with("smoke-") && id.ends_with(&format!("-{}", std::process::id())));
        assert_eq!(client.url, "http://127.0.0.1:1");
    }

    #[test]
    fn exchange_helpers() {
        let ex = Exchange {
            tag: "r-1".into(),
            path: "/headers".into(),
            headers: vec![("x-a".into(), b"1".to_vec()), ("X-A".into(), b"2".to_vec())],
            ..Exchange::default()
        };
        assert_eq!(ex.header_values("x-A").collect::<Vec<_>>(), [b"1", b"2"]);
        assert_eq!(ex.describe(), "GET /headers (x-smoke-id: r-1)");
    }

    #[tokio::test]
    async fn dead_envoy_is_reported_quickly() {
        // A port that was just free: connections to it are refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let mut client = Client::new(&base, &base).unwrap();
        let started = Instant::now();
        let err = client
            .wait_ready(Duration::from_millis(300), false)
            .await
            .unwrap_err();
        assert!(matches!(err, SmokeError::EnvoyUnreachable { .. }), "{err}");
        assert!(err.to_string().contains("connection refused"), "{err}");
        let err = client.get("/headers", &[]).await.unwrap_err();
        assert!(matches!(err, SmokeError::EnvoyWentAway { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn chains_causes_once() {
        let io = std::io::Error::other("refused");
        assert_eq!(chain(&io), "refused");
    }
}
