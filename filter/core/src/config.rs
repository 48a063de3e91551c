//! The plugin configuration: its JSON form, its defaults, and errors that say how to fix it.
//!
//! Envoy hands the filter the `configuration` value (a `google.protobuf.StringValue`) as raw
//! bytes. Accepted JSON, every field optional:
//!
//! ```json
//! {
//!   "set_request_headers":  {"test": "best"},
//!   "add_response_headers": {"x-wasm-header": "demo-wasm"},
//!   "redact_headers": ["x-api-key"],
//!   "redact_query_params": ["session_id"],
//!   "unredacted_headers": ["x-session-affinity"],
//!   "url_headers": ["x-redirect-to"],
//!   "max_logged_value_bytes": 1024,
//!   "log_headers": true
//! }
//! ```
//!
//! plus the Go example's form `{"header": "x-wasm-header", "value": "demo-wasm"}`, which appends
//! one header to `add_response_headers` (after the ones given there). Rules:
//!
//! - Empty or whitespace-only input, and `{}`, mean the defaults ([`PluginConfig::default`]).
//! - `set_request_headers` replaces the default `{"test": "best"}`: `{}` there sets nothing.
//!   Each header is set (replacing any value the request had), in order; names must be unique
//!   ignoring case.
//! - `add_response_headers` headers are added (appended) to every response, in order.
//! - `redact_headers` adds to [`DEFAULT_REDACTED`] (the rules: [`crate::redaction`]): `authorization`,
//!   `cookie`, `proxy-authorization` and `set-cookie` are always redacted, whatever the
//!   configuration says.
//!   Pseudo-headers such as `:path` may be redacted. A name given twice is no error.
//! - `redact_query_params` adds to [`DEFAULT_REDACTED_QUERY_PARAMS`] (always redacted, like the
//!   headers): names of query parameters whose values are logged as `[redacted]` in the request
//!   target (`:path`, `x-envoy-original-path`; see [`crate::redaction`]). Names are matched after
//!   percent-decoding, ASCII case-insensitively; each must be non-empty, at most 256 bytes, without
//!   control characters. A name given twice is no error.
//! - `unredacted_headers` keeps in clear headers that the default name rule redacts (names
//!   holding `token`, `secret`, `auth`, ...: [`crate::redaction::SECRET_NAME_FRAGMENTS`]); it adds
//!   to [`DEFAULT_UNREDACTED_HEADERS`]. A name the rule does not match, a pseudo-header, an
//!   always-redacted name or one also in `redact_headers` is an error: it would keep nothing.
//! - `url_headers` adds to [`DEFAULT_URL_HEADERS`]: headers whose value is a URL, logged with
//!   the values of secret query and fragment parameters `[redacted]`.
//! - Header names must be non-empty RFC 9110 tokens (letters, digits and ``!#$%&'*+-.^_`|~``);
//!   they are lower-cased, as Envoy does. Pseudo-headers (`:path`, ...) can't be set or added.
//! - Header values must not contain control characters (CR, LF, NUL, ...) other than HTAB.
//! - `max_logged_value_bytes` is an integer from 1 to 65536, read by value: `1024.0` and
//!   `1.024e3` are 1024 (Istio passes the configuration as a protobuf Struct, whose numbers are
//!   doubles); `log_headers` is a boolean.
//! - Unknown fields, wrong types, duplicate keys, a top level other than an object and
//!   characters after the JSON are errors. `header` without `value`, or the reverse, is an error.
//!
//! Every [`ConfigError`] names the field (its path, e.g. `add_response_headers."X Y"`), what was
//! wrong, what was expected and an example of a fix.

mod error;
mod headers;

pub use error::{ConfigError, TOP_LEVEL};

use error::{Field, escaped};

use crate::json::{self, Value, Whole};
use crate::redaction::{
    self, DEFAULT_REDACTED, DEFAULT_REDACTED_QUERY_PARAMS, DEFAULT_UNREDACTED_HEADERS,
    DEFAULT_URL_HEADERS, NameGate,
};
use crate::repeats::first_repeated;
use crate::text::concat;
use headers::{header_name, header_value};

/// Longest accepted name in `redact_query_params`, in bytes.
pub const MAX_QUERY_PARAM_NAME_BYTES: usize = 256;
pub const DEFAULT_MAX_LOGGED_VALUE_BYTES: usize = 1024;
/// Largest accepted `max_logged_value_bytes`.
pub const MAX_LOGGED_VALUE_BYTES_LIMIT: usize = 65536;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginConfig {
    /// Set (replace) on every request, in order. Default: [("test", "best")].
    pub set_request_headers: Vec<(String, String)>,
    /// Added to every response, in order. Default: empty.
    pub add_response_headers: Vec<(String, String)>,
    /// Lower-case names whose values are logged as `[redacted]`: DEFAULT_REDACTED, then the
    /// configured names in order (a repeated name stays repeated: it changes nothing).
    pub redact_headers: Vec<String>,
    /// Query parameter names whose values are logged as `[redacted]` in the request target;
    /// always starts with DEFAULT_REDACTED_QUERY_PARAMS. Matched ASCII case-insensitively.
    pub redact_query_params: Vec<String>,
    /// Lower-case header names kept in clear although the default name rule matches them:
    /// DEFAULT_UNREDACTED_HEADERS, then the configured names.
    pub unredacted_headers: Vec<String>,
    /// Lower-case names of the headers whose value is a URL: DEFAULT_URL_HEADERS, then the
    /// configured names.
    pub url_headers: Vec<String>,
    /// Longest value (in bytes of the raw value) logged before it is cut.
    pub max_logged_value_bytes: usize,
    /// false: log nothing per request (headers are still set/added).
    pub log_headers: bool,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            set_request_headers: vec![("test".to_string(), "best".to_string())],
            add_response_headers: Vec::new(),
            redact_headers: DEFAULT_REDACTED.iter().map(|s| s.to_string()).collect(),
            redact_query_params: DEFAULT_REDACTED_QUERY_PARAMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            unredacted_headers: strings(&DEFAULT_UNREDACTED_HEADERS),
            url_headers: strings(&DEFAULT_URL_HEADERS),
            max_logged_value_bytes: DEFAULT_MAX_LOGGED_VALUE_BYTES,
            log_headers: true,
        }
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const FIELDS: &str = "set_request_headers, add_response_headers, redact_headers, \
                      redact_query_params, unredacted_headers, url_headers, \
                      max_logged_value_bytes, log_headers, header, value";

impl PluginConfig {
    /// Empty or whitespace-only input means the defaults.
    pub fn parse(input: &[u8]) -> Result<PluginConfig, ConfigError> {
        read(input).map_err(|e| *e)
    }

    /// Whether header `name`'s value is logged as `[redacted]`: it is one of `redact_headers`, or
    /// the default name rule matches it and it is not one of `unredacted_headers`. ASCII
    /// case-insensitive.
    pub fn is_redacted(&self, name: &[u8]) -> bool {
        redaction::is_redacted_name(&self.redact_headers, name)
            || redaction::matches_default_rule(name, &self.unredacted_headers)
    }

    /// Whether header `name`'s value is a URL whose secret parameters are redacted.
    pub fn is_url_header(&self, name: &[u8]) -> bool {
        redaction::is_redacted_name(&self.url_headers, name)
    }

    /// The filter over header names for `redact_headers` and `url_headers`.
    pub fn name_gate(&self) -> NameGate {
        NameGate::new(&self.redact_headers, &self.url_headers)
    }
}

/// [`PluginConfig::parse`]. Errors are boxed while they travel up: a pointer moves cheaply
/// (module size).
fn read(input: &[u8]) -> Result<PluginConfig, Box<ConfigError>> {
    let mut config = PluginConfig::default();
    if input
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Ok(config);
    }
    // The whole document is checked first: a syntax error anywhere comes before any other.
    let members = match json::parse(input) {
        Ok(Value::Object(members)) => members,
        Ok(other) => {
            let problem = concat(&["the configuration is ", other.kind()]);
            return Err(ConfigError::new(Field::Top, problem, "a JSON object"));
        }
        Err(e) => return Err(ConfigError::from_json(&e, input)),
    };
    // Members are read in place; only what the configuration keeps is copied out.
    let mut go_header = None;
    let mut go_value = None;
    for (name, value) in &members {
        let field = Field::Name(name);
        match name.as_str() {
            "set_request_headers" => {
                config.set_request_headers = header_object(name, value, true)?;
            }
            // Duplicate keys are rejected, so this runs at most once, and the Go form's header
            // is appended after the loop: it comes after these whatever the order.
            "add_response_headers" => {
                config.add_response_headers = header_object(name, value, false)?;
            }
            "redact_headers" => name_list(name, value, false, &mut config.redact_headers)?,
            "redact_query_params" => name_list(name, value, true, &mut config.redact_query_params)?,
            "unredacted_headers" => name_list(name, value, false, &mut config.unredacted_headers)?,
            "url_headers" => name_list(name, value, false, &mut config.url_headers)?,
            "max_logged_value_bytes" => {
                config.max_logged_value_bytes = max_bytes(field, value)?;
            }
            "log_headers" => match value {
                Value::Bool(b) => config.log_headers = *b,
                other => return Err(wrong_type(field, other, "true or false")),
            },
            "header" => {
                let name = expect_string(field, value, "a header name")?;
                go_header = Some(header_name(field, name, false)?);
            }
            "value" => {
                let text = expect_string(field, value, "a header value")?;
                go_value = Some(header_value(field, text)?);
            }
            _ => {
                let problem = "unknown field".to_string();
                return Err(ConfigError::new(field, problem, FIELDS));
            }
        }
    }
    match (go_header, go_value) {
        (Some(name), Some(value)) => config.add_response_headers.push((name, value)),
        (None, None) => {}
        (Some(_), None) => return Err(missing("value", "`header` is given")),
        (None, Some(_)) => return Err(missing("header", "`value` is given")),
    }
    check_unredacted(&config)?;
    Ok(config)
}

/// Each name kept in clear must be one the default rule redacts and no list redacts: else it
/// would keep nothing, which is surely not what was meant.
fn check_unredacted(config: &PluginConfig) -> Result<(), Box<ConfigError>> {
    let configured = config
        .unredacted_headers
        .iter()
        .skip(DEFAULT_UNREDACTED_HEADERS.len());
    for (index, name) in configured.enumerate() {
        let field = Field::Index("unredacted_headers", index);
        let bytes = name.as_bytes();
        let problem = if name.starts_with(':') {
            "is a pseudo-header, which the default rule never redacts"
        } else if !redaction::matches_name_rule(bytes) {
            "is not redacted by the default rule (it holds none of its name fragments)"
        } else if redaction::is_redacted_name(&config.redact_headers, bytes) {
            "is always redacted, or listed in redact_headers"
        } else {
            continue;
        };
        let problem = concat(&["`", &escaped(name), "` ", problem]);
        let expected = "a header name that the default rule redacts (holding token, secret, \
                        passw, apikey, api-key, api_key, auth, session, signature, credential, \
                        private, csrf, xsrf, cookie or jwt) and no list redacts";
        return Err(ConfigError::new(field, problem, expected));
    }
    Ok(())
}

fn missing(field: &str, because: &str) -> Box<ConfigError> {
    ConfigError::new(
        Field::Name(field),
        concat(&["missing: ", because, " but `", field, "` is not"]),
        "`header` and `value` together (or use add_response_headers)",
    )
}

fn wrong_type(field: Field<'_>, found: &Value, expected: &'static str) -> Box<ConfigError> {
    let problem = concat(&["found ", found.kind()]);
    ConfigError::new(field, problem, expected)
}

fn expect_string<'v>(
    field: Field<'_>,
    value: &'v Value,
    expected: &'static str,
) -> Result<&'v str, Box<ConfigError>> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(field, other, expected)),
    }
}

/// `{"name": "value", ...}` → validated, lower-cased pairs in order.
fn header_object(
    name: &str,
    value: &Value,
    unique: bool,
) -> Result<Vec<(String, String)>, Box<ConfigError>> {
    let Value::Object(members) = value else {
        let expected = "an object of header names to values";
        return Err(wrong_type(Field::Name(name), value, expected));
    };
    // Names are compared ignoring case, as they are kept lower-cased.
    let duplicate = first_repeated(members, true).filter(|_| unique);
    let mut headers: Vec<(String, String)> = Vec::with_capacity(members.len());
    for (index, (key, value)) in members.iter().enumerate() {
        let field = Field::Key(name, key);
        let header = header_name(field, key, false)?;
        if duplicate == Some(index) {
            return Err(ConfigError::new(
                field,
                concat(&[
                    "header `",
                    &escaped(&header),
                    "` is given twice (names are case-insensitive)",
                ]),
                "each header name once",
            ));
        }
        let text = expect_string(field, value, "a string value")?;
        headers.push((header, header_value(field, text)?));
    }
    Ok(headers)
}

/// `["name", ...]` → each checked and added to `names`: header names, or with `query` names of
/// query parameters. A name given twice, or one of the defaults, is kept as given: a repeat
/// matches what the first one matches, so it changes nothing and needs no check.
fn name_list(
    name: &str,
    value: &Value,
    query: bool,
    names: &mut Vec<String>,
) -> Result<(), Box<ConfigError>> {
    let (list_expected, item_expected) = match query {
        true => (
            "an array of query parameter names",
            "a query parameter name string",
        ),
        false => ("an array of header names", "a header name string"),
    };
    let Value::Array(items) = value else {
        return Err(wrong_type(Field::Name(name), value, list_expected));
    };
    for (index, item) in items.iter().enumerate() {
        let field = Field::Index(name, index);
        let text = expect_string(field, item, item_expected)?;
        names.push(match query {
            true => query_param(field, text)?,
            false => header_name(field, text, true)?,
        });
    }
    Ok(())
}

/// Checks a name of `redact_query_params` and copies it.
fn query_param(field: Field<'_>, param: &str) -> Result<String, Box<ConfigError>> {
    let problem = if param.is_empty() {
        "the name is empty"
    } else if param.len() > MAX_QUERY_PARAM_NAME_BYTES {
        "the name is longer than 256 bytes"
    } else if param.chars().any(char::is_control) {
        "the name holds a control character"
    } else {
        return Ok(param.to_string());
    };
    let expected = "a query parameter name: 1 to 256 bytes, no control characters, as it reads \
                    decoded (access_token, not access%5Ftoken)";
    Err(ConfigError::new(field, problem.to_string(), expected))
}

fn max_bytes(field: Field<'_>, value: &Value) -> Result<usize, Box<ConfigError>> {
    let expected = "an integer from 1 to 65536";
    let Value::Number(text) = value else {
        return Err(wrong_type(field, value, expected));
    };
    let problem = match json::whole_number(text) {
        Whole::Value(n) if (1..=MAX_LOGGED_VALUE_BYTES_LIMIT).contains(&(n as usize)) => {
            return Ok(n as usize);
        }
        Whole::Fraction => "is not an integer",
        Whole::Value(_) | Whole::OutOfRange => "is out of range",
    };
    let problem = concat(&[&escaped(text), " ", problem]);
    Err(ConfigError::new(field, problem, expected))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<PluginConfig, ConfigError> {
        PluginConfig::parse(input.as_bytes())
    }

    fn err(input: &str) -> ConfigError {
        parse(input).unwrap_err()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let d = PluginConfig::default();
        assert_eq!(d.set_request_headers, pairs(&[("test", "best")]));
        assert!(d.add_response_headers.is_empty());
        assert_eq!(d.redact_headers, DEFAULT_REDACTED);
        assert_eq!(d.redact_query_params, DEFAULT_REDACTED_QUERY_PARAMS);
        assert_eq!(d.max_logged_value_bytes, DEFAULT_MAX_LOGGED_VALUE_BYTES);
        assert!(d.log_headers);
        for empty in ["", " ", "\n\t\r ", "{}", " { } "] {
            assert_eq!(parse(empty).unwrap(), d, "{empty:?}");
        }
    }

    #[test]
    fn full_form() {
        let c = parse(
            r#"{
              "set_request_headers":  {"test": "best", "X-Second": "two words\tand tab"},
              "add_response_headers": {"x-wasm-header": "demo-wasm", "x-b": ""},
              "redact_headers": ["X-Api-Key", "authorization", ":path"],
              "max_logged_value_bytes": 65536,
              "log_headers": false
            }"#,
        )
        .unwrap();
        assert_eq!(
            c.set_request_headers,
            pairs(&[("test", "best"), ("x-second", "two words\tand tab")])
        );
        assert_eq!(
            c.add_response_headers,
            pairs(&[("x-wasm-header", "demo-wasm"), ("x-b", "")])
        );
        let mut redacted: Vec<String> = DEFAULT_REDACTED.map(String::from).to_vec();
        redacted.extend(["x-api-key", "authorization", ":path"].map(String::from));
        assert_eq!(c.redact_headers, redacted);
        assert_eq!(c.max_logged_value_bytes, 65536);
        assert!(!c.log_headers);
    }

    #[test]
    fn go_form_and_combination() {
        let c = parse(r#"{"header": "X-Wasm-Header", "value": "demo-wasm"}"#).unwrap();
        assert_eq!(
            c.add_response_headers,
            pairs(&[("x-wasm-header", "demo-wasm")])
        );
        assert_eq!(c.set_request_headers, pairs(&[("test", "best")]));
        // The Go form's header comes after add_response_headers, whatever the key order.
        for doc in [
            r#"{"header": "x-go", "value": "1", "add_response_headers": {"x-a": "2"}}"#,
            r#"{"add_response_headers": {"x-a": "2"}, "value": "1", "header": "x-go"}"#,
        ] {
            let c = parse(doc).unwrap();
            assert_eq!(
                c.add_response_headers,
                pairs(&[("x-a", "2"), ("x-go", "1")])
            );
        }
    }

    #[test]
    fn go_form_needs_both_fields() {
        let e = err(r#"{"header": "x-wasm-header"}"#);
        assert_eq!(e.field, "value");
        assert!(e.to_string().contains("`value` is not"), "{e}");
        let e = err(r#"{"value": "demo-wasm"}"#);
        assert_eq!(e.field, "header");
        assert_eq!(err(r#"{"header": 1, "value": "v"}"#).field, "header");
        assert_eq!(err(r#"{"header": "x", "value": null}"#).field, "value");
        assert_eq!(err(r#"{"header": ":path", "value": "/"}"#).field, "header");
        assert_eq!(err(r#"{"header": "x", "value": "a\rb"}"#).field, "value");
    }

    #[test]
    fn set_request_headers_replaces_the_default() {
        assert!(
            parse(r#"{"set_request_headers": {}}"#)
                .unwrap()
                .set_request_headers
                .is_empty()
        );
        let c = parse(r#"{"set_request_headers": {"x-a": "1"}}"#).unwrap();
        assert_eq!(c.set_request_headers, pairs(&[("x-a", "1")]));
    }

    #[test]
    fn set_request_headers_names_are_unique_ignoring_case() {
        let e = err(r#"{"set_request_headers": {"X-A": "1", "x-a": "2"}}"#);
        assert_eq!(e.field, "set_request_headers.x-a");
        // Adding the same header twice is what "add" means.
        let c = parse(r#"{"add_response_headers": {"X-A": "1", "x-a": "2"}}"#).unwrap();
        assert_eq!(c.add_response_headers, pairs(&[("x-a", "1"), ("x-a", "2")]));
    }

    /// Large configurations are checked in n log n (n² took seconds at 30,000 members).
    #[test]
    fn thirty_thousand_members() {
        let names: Vec<String> = (0..30_000).map(|i| format!("x-h{i}")).collect();
        let object = |extra: &str| {
            let members: Vec<String> = names.iter().map(|n| format!(r#""{n}": "v""#)).collect();
            format!("{{{}{extra}}}", members.join(", "))
        };
        let doc = format!(r#"{{"set_request_headers": {}}}"#, object(""));
        assert_eq!(parse(&doc).unwrap().set_request_headers.len(), 30_000);
        let doc = format!(
            r#"{{"set_request_headers": {}}}"#,
            object(r#", "X-H17": "w""#)
        );
        assert_eq!(err(&doc).field, "set_request_headers.X-H17");
        let doc = format!(
            r#"{{"add_response_headers": {}}}"#,
            object(r#", "x-h17": "w""#)
        );
        assert_eq!(err(&doc).field, "add_response_headers.x-h17");
        let list: Vec<String> = names
            .iter()
            .map(|n| format!(r#""{n}", "COOKIE""#))
            .collect();
        let doc = format!(r#"{{"redact_headers": [{}]}}"#, list.join(", "));
        assert_eq!(parse(&doc).unwrap().redact_headers.len(), 60_004);
    }

    #[test]
    fn redact_headers_add_to_the_defaults() {
        let c = parse(r#"{"redact_headers": []}"#).unwrap();
        assert_eq!(c.redact_headers, DEFAULT_REDACTED);
        let c = parse(r#"{"redact_headers": ["COOKIE", "x-user", "x-user"]}"#).unwrap();
        assert_eq!(c.redact_headers[4..], ["cookie", "x-user", "x-user"]);
        assert!(c.is_redacted(b"X-User") && c.is_redacted(b"Set-Cookie"));
        assert!(!c.is_redacted(b"x-user2") && !c.is_redacted(b""));
    }

    #[test]
    fn redact_query_params_add_to_the_defaults() {
        let c = parse(r#"{"redact_query_params": []}"#).unwrap();
        assert_eq!(c.redact_query_params, DEFAULT_REDACTED_QUERY_PARAMS);
        let c = parse(r#"{"redact_query_params": ["Session_ID", "session_id", "TOKEN", "a b"]}"#)
            .unwrap();
        let mut expected: Vec<String> = DEFAULT_REDACTED_QUERY_PARAMS.map(String::from).to_vec();
        expected.extend(["Session_ID", "session_id", "TOKEN", "a b"].map(String::from));
        assert_eq!(c.redact_query_params, expected);
        // Defaults hold no duplicates and are matched as given.
        for (i, name) in DEFAULT_REDACTED_QUERY_PARAMS.iter().enumerate() {
            assert_eq!(*name, name.to_ascii_lowercase());
            assert!(!DEFAULT_REDACTED_QUERY_PARAMS[..i].contains(name), "{name}");
        }
    }

    #[test]
    fn unredacted_and_url_headers_add_to_the_defaults() {
        let d = PluginConfig::default();
        assert_eq!(d.unredacted_headers, DEFAULT_UNREDACTED_HEADERS);
        assert_eq!(d.url_headers, DEFAULT_URL_HEADERS);
        let c =
            parse(r#"{"unredacted_headers": ["X-Auth-User"], "url_headers": ["X-Next", ":path"]}"#)
                .unwrap();
        assert_eq!(c.unredacted_headers[3..], ["x-auth-user"]);
        assert_eq!(c.url_headers[9..], ["x-next", ":path"]);
        assert!(!c.is_redacted(b"x-auth-user") && c.is_redacted(b"x-auth-token"));
        assert!(c.is_url_header(b"X-NEXT") && !c.is_url_header(b"x-nex"));
    }

    #[test]
    fn unredacted_headers_errors_name_the_entry_and_the_fix() {
        for (doc, field, problem) in [
            (
                r#"{"unredacted_headers": ["x-session-affinity", "x-tag"]}"#,
                "unredacted_headers[1]",
                "`x-tag` is not redacted by the default rule",
            ),
            (
                r#"{"unredacted_headers": ["Authorization"]}"#,
                "unredacted_headers[0]",
                "`authorization` is always redacted, or listed in redact_headers",
            ),
            (
                r#"{"unredacted_headers": ["x-token"], "redact_headers": ["x-token"]}"#,
                "unredacted_headers[0]",
                "`x-token` is always redacted, or listed in redact_headers",
            ),
            (
                r#"{"unredacted_headers": [":authority"]}"#,
                "unredacted_headers[0]",
                "`:authority` is a pseudo-header",
            ),
        ] {
            let e = err(doc);
            assert_eq!(e.field, field, "{doc}");
            assert!(e.problem.starts_with(problem), "{e}");
            assert!(e.expected.contains("default rule"), "{e}");
            assert!(
                e.to_string()
                    .contains(r#""unredacted_headers": ["x-session-affinity"]"#)
            );
        }
        assert_eq!(
            err(r#"{"unredacted_headers": "x"}"#).field,
            "unredacted_headers"
        );
        assert_eq!(
            err(r#"{"unredacted_headers": ["a b"]}"#).field,
            "unredacted_headers[0]"
        );
        let e = err(r#"{"url_headers": ["ok", "bad name"]}"#);
        assert_eq!(e.field, "url_headers[1]");
        assert!(
            e.to_string()
                .contains(r#""url_headers": ["x-redirect-to"]"#),
            "{e}"
        );
        assert_eq!(err(r#"{"url_headers": [1]}"#).field, "url_headers[0]");
    }

    #[test]
    fn redact_query_params_errors_name_the_entry() {
        let long = "x".repeat(257);
        for (doc, problem) in [
            (
                r#"{"redact_query_params": [""]}"#.to_string(),
                "the name is empty",
            ),
            (
                format!(r#"{{"redact_query_params": ["ok", "{long}"]}}"#),
                "longer than 256 bytes",
            ),
            (
                r#"{"redact_query_params": ["a\u0001b"]}"#.to_string(),
                "control character",
            ),
        ] {
            let e = err(&doc);
            assert!(e.field.starts_with("redact_query_params["), "{e}");
            assert!(e.problem.contains(problem), "{e}");
            assert!(
                e.to_string()
                    .contains(r#""redact_query_params": ["session_id"]"#),
                "{e}"
            );
        }
        let e = err(r#"{"redact_query_params": "token"}"#);
        assert_eq!(e.field, "redact_query_params");
        let e = err(r#"{"redact_query_params": ["a", 1]}"#);
        assert_eq!(e.field, "redact_query_params[1]");
        assert!(
            parse(&format!(
                r#"{{"redact_query_params": ["{}"]}}"#,
                "y".repeat(256)
            ))
            .is_ok()
        );
    }

    #[test]
    fn max_logged_value_bytes_range() {
        for ok in [1, 2, 1024, 65536] {
            let c = parse(&format!(r#"{{"max_logged_value_bytes": {ok}}}"#)).unwrap();
            assert_eq!(c.max_logged_value_bytes, ok);
        }
        for bad in [
            "0",
            "65537",
            "-1",
            "1.5",
            "99999999999999999999999",
            "\"10\"",
            "null",
        ] {
            let e = parse(&format!(r#"{{"max_logged_value_bytes": {bad}}}"#)).unwrap_err();
            assert_eq!(e.field, "max_logged_value_bytes", "{bad}");
            assert!(e.to_string().contains("an integer from 1 to 65536"), "{e}");
        }
    }

    /// JSON has one number type, and Istio hands the configuration over as a protobuf Struct
    /// whose numbers are doubles: a number is read by its value, whatever its notation.
    #[test]
    fn max_logged_value_bytes_by_value() {
        for (text, value) in [
            ("1024.0", 1024),
            ("1.024e3", 1024),
            ("1.024E+3", 1024),
            ("1024e0", 1024),
            ("10240e-1", 1024),
            ("102400000e-5", 1024),
            ("0.001024e6", 1024),
            ("1e3", 1000),
            ("6.5536e4", 65536),
            ("65536.000", 65536),
            ("1.0", 1),
            ("0.1e1", 1),
        ] {
            let doc = format!(r#"{{"max_logged_value_bytes": {text}}}"#);
            let c = parse(&doc).unwrap_or_else(|e| panic!("EXPECTED {value} GOT {e}"));
            assert_eq!(c.max_logged_value_bytes, value, "{text}");
        }
        for (text, problem) in [
            ("1.5", "1.5 is not an integer"),
            ("1024.000001", "1024.000001 is not an integer"),
            ("1e-1", "1e-1 is not an integer"),
            ("1.0245e3", "1.0245e3 is not an integer"),
            ("-1.5", "-1.5 is not an integer"),
            (
                "1e-99999999999999999999",
                "1e-99999999999999999999 is not an integer",
            ),
            ("0.0", "0.0 is out of range"),
            ("-0", "-0 is out of range"),
            ("-1024.0", "-1024.0 is out of range"),
            ("6.5537e4", "6.5537e4 is out of range"),
            ("1e5", "1e5 is out of range"),
            ("65536.0e1", "65536.0e1 is out of range"),
            (
                "1e99999999999999999999",
                "1e99999999999999999999 is out of range",
            ),
            ("4294967296", "4294967296 is out of range"),
            (
                "18446744073709551616",
                "18446744073709551616 is out of range",
            ),
        ] {
            let e = parse(&format!(r#"{{"max_logged_value_bytes": {text}}}"#)).unwrap_err();
            assert_eq!(e.field, "max_logged_value_bytes", "{text}");
            assert_eq!(e.problem, problem);
            assert_eq!(e.expected, "an integer from 1 to 65536");
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        let cases = [
            (r#"{"log_headers": "yes"}"#, "log_headers"),
            (r#"{"log_headers": 1}"#, "log_headers"),
            (
                r#"{"set_request_headers": ["test", "best"]}"#,
                "set_request_headers",
            ),
            (
                r#"{"set_request_headers": {"test": 1}}"#,
                "set_request_headers.test",
            ),
            (
                r#"{"add_response_headers": {"x": {"y": "z"}}}"#,
                "add_response_headers.x",
            ),
            (r#"{"add_response_headers": null}"#, "add_response_headers"),
            (r#"{"redact_headers": "x-api-key"}"#, "redact_headers"),
            (r#"{"redact_headers": ["a", ["b"]]}"#, "redact_headers[1]"),
        ];
        for (doc, field) in cases {
            let e = err(doc);
            assert_eq!(e.field, field, "{doc}: {e}");
            assert!(e.problem.starts_with("found "), "{e}");
        }
    }

    #[test]
    fn unknown_fields_and_top_level() {
        let e = err(r#"{"log_header": true}"#);
        assert_eq!(e.field, "log_header");
        assert!(e.to_string().contains("unknown field"), "{e}");
        assert!(e.expected.contains("log_headers"));
        for doc in ["[]", "\"x\"", "1", "true", "null"] {
            assert_eq!(err(doc).field, TOP_LEVEL, "{doc}");
        }
    }

    #[test]
    fn syntax_errors_name_the_field_and_offset() {
        let e = err(r#"{"log_headers": true} x"#);
        assert_eq!(e.field, TOP_LEVEL);
        assert!(e.problem.contains("byte 22"), "{e}");
        let e = err(r#"{"set_request_headers": {"a": "b" "c": "d"}}"#);
        assert_eq!(e.field, "set_request_headers");
        assert!(
            e.problem.contains("byte 34") && e.problem.contains("found `\"`"),
            "{e}"
        );
        let e = err(r#"{"max_logged_value_bytes": 01}"#);
        assert_eq!(e.field, "max_logged_value_bytes");
        let e = err(r#"{"log_headers": tru"#);
        assert_eq!(e.field, "log_headers");
        let e = err("{\"log_headers\": true");
        assert!(e.problem.contains("found the end of the input"), "{e}");
        let e = PluginConfig::parse(b"{\"x\xff\": 1}").unwrap_err();
        assert!(e.problem.contains("invalid UTF-8"), "{e}");
        let e = err("{\"set_request_headers\": {\"a\": \"b\n\"}}");
        assert_eq!(e.field, "set_request_headers.a");
        let e = err(r#"{"redact_query_params": ["a",]}"#);
        assert_eq!(e.example, r#""redact_query_params": ["session_id"]"#);
    }

    #[test]
    fn duplicate_keys() {
        let e = err(r#"{"log_headers": true, "log_headers": false}"#);
        assert_eq!(e.field, "log_headers");
        assert!(e.problem.contains("duplicate key"), "{e}");
        let e = err(r#"{"add_response_headers": {"x-a": "1", "x-a": "2"}}"#);
        assert_eq!(e.field, "add_response_headers.x-a");
    }

    #[test]
    fn every_truncation_of_a_valid_configuration_is_handled() {
        let doc = r#"{"set_request_headers": {"test": "best"}, "redact_headers": ["x-k"], "max_logged_value_bytes": 12, "header": "x-h", "value": "v"}"#;
        assert!(parse(doc).is_ok());
        for end in 1..doc.len() {
            let prefix = &doc[..end];
            if prefix.trim().is_empty() {
                continue;
            }
            let e = parse(prefix).unwrap_err();
            assert!(e.to_string().starts_with("invalid plugin configuration: "));
        }
    }

    #[test]
    fn display_format() {
        let e = err(r#"{"max_logged_value_bytes": 0}"#);
        assert_eq!(
            e.to_string(),
            "invalid plugin configuration: max_logged_value_bytes: 0 is out of range; \
             expected an integer from 1 to 65536; for example: \"max_logged_value_bytes\": 1024"
        );
        let e = err(r#"{"add_response_headers": {"X Y": "v"}}"#);
        assert_eq!(
            e.to_string(),
            "invalid plugin configuration: add_response_headers.\"X Y\": `X Y` is not a valid \
             header name: ` ` at byte 1 is not allowed; expected a header name: letters, digits \
             and !#$%&'*+-.^_`|~ (an RFC 9110 token); for example: \
             \"add_response_headers\": {\"x-wasm-header\": \"demo-wasm\"}"
        );
    }

    #[test]
    fn error_text_is_one_safe_line() {
        let hostile = "{\"set_request_headers\": {\"x\": \"\\r\\ninjected\\u2028\\u202e\"}}";
        let text = err(hostile).to_string();
        assert!(text.starts_with("invalid plugin configuration: "));
        assert!(
            !text.contains(['\r', '\n', '\u{2028}', '\u{202E}']),
            "{text}"
        );
        let long_key = format!(
            r#"{{"add_response_headers": {{"{}": "v"}}}}"#,
            "é ".repeat(100)
        );
        let text = err(&long_key).to_string();
        assert!(text.contains(" ... [truncated: 63 of 300 bytes]"), "{text}");
    }

    /// Whatever the configuration holds, its error is one log line of bounded size that says
    /// what it cut.
    #[test]
    fn quoted_names_and_values_are_cut() {
        let big = "a".repeat(1 << 20);
        let deep_keys: String = (0..40).map(|i| format!("{{\"{i}{big}\": ")).collect();
        let cases = [
            format!(r#"{{"{big}": 1}}"#),
            format!(r#"{{"add_response_headers": {{"x {big}": "v"}}}}"#),
            format!(r#"{{"add_response_headers": {{"x": 1, "{big}": 2, "{big}": 3}}}}"#),
            format!(r#"{{"set_request_headers": {{"x{big}": "1", "X{big}": "2"}}}}"#),
            format!(r#"{{"set_request_headers": {{"x": "\r{big}"}}}}"#),
            format!(r#"{{"redact_headers": [":{big}:"]}}"#),
            format!(r#"{{"max_logged_value_bytes": 1{}}}"#, "0".repeat(1 << 20)),
            format!(
                r#"{{"max_logged_value_bytes": 1.{}5}}"#,
                "0".repeat(1 << 20)
            ),
            format!(r#"{{"add_response_headers": {{"{big}": tru}}}}"#),
            format!(r#"{{"log_headers": true, "header": "{big} x"}}"#),
            deep_keys,
        ];
        for doc in cases {
            let text = err(&doc).to_string();
            let shown = text.get(..200).unwrap_or(&text);
            assert!(text.len() < 6_000, "{} bytes: {shown}", text.len());
            assert!(text.contains(" ... [truncated: "), "{shown}");
        }
    }

    #[test]
    fn header_names_must_be_tokens() {
        let e = err(r#"{"add_response_headers": {"X Y": "v"}}"#);
        assert_eq!(e.field, r#"add_response_headers."X Y""#);
        assert!(e.to_string().contains("` ` at byte 1"), "{e}");
        assert_eq!(
            err(r#"{"add_response_headers": {"": "v"}}"#).field,
            r#"add_response_headers."""#
        );
        for bad in [
            "a:b",
            "a/b",
            "a\\u0000b",
            "é",
            "a\"b",
            "(x)",
            "a,b",
            "x\\ny",
        ] {
            let doc = format!(r#"{{"set_request_headers": {{"{bad}": "v"}}}}"#);
            let e = parse(&doc).unwrap_err();
            assert!(e.field.starts_with("set_request_headers."), "{bad}: {e}");
            assert!(!e.to_string().contains('\n'), "{bad}: {e}");
        }
        let c = parse(r#"{"set_request_headers": {"!#$%&'*+-.^_`|~09AZaz": "v"}}"#).unwrap();
        assert_eq!(c.set_request_headers[0].0, "!#$%&'*+-.^_`|~09azaz");
        let e = err(r#"{"redact_headers": ["ok", "x-fine", "bad name"]}"#);
        assert_eq!(e.field, "redact_headers[2]");
        assert_eq!(
            err(r#"{"redact_headers": [":"]}"#).field,
            "redact_headers[0]"
        );
    }

    #[test]
    fn pseudo_headers_cannot_be_set_or_added() {
        for doc in [
            r#"{"set_request_headers": {":path": "/admin"}}"#,
            r#"{"add_response_headers": {":status": "500"}}"#,
        ] {
            let e = err(doc);
            assert!(e.to_string().contains("can't be set or added"), "{e}");
            assert!(e.field.contains(':'), "{e}");
        }
    }

    #[test]
    fn values_must_not_hold_controls() {
        for bad in ["a\\rb", "a\\nb", "\\u0000", "\\u0001", "\\u007f", "\\u0085"] {
            let doc = format!(r#"{{"add_response_headers": {{"x-a": "{bad}"}}}}"#);
            let e = parse(&doc).unwrap_err();
            assert_eq!(e.field, "add_response_headers.x-a", "{bad}");
            assert!(!e.to_string().contains(['\r', '\n', '\0']), "{e}");
        }
        let c = parse(r#"{"add_response_headers": {"x-a": "tab\there, ünïcode ✓"}}"#).unwrap();
        assert_eq!(c.add_response_headers[0].1, "tab\there, ünïcode ✓");
    }
}
