//! One hostile request: its path and headers as raw bytes, and how it is written on the wire.

use super::header::Header;
use super::reference;

/// The `host` every request sends; Envoy turns it into `:authority`.
pub const HOST: &str = "hostile.test";
/// The header that tags each request so that its log lines can be found.
pub const ID_HEADER: &str = "x-hostile-id";

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// What it tries, e.g. `fixed non-utf8/ff-fe` or `generated #17`.
    pub label: String,
    /// The request target, as written (`/headers`, `/response-headers?...`).
    pub path: Vec<u8>,
    /// The headers after `host`, `connection` and the id, in order.
    pub headers: Vec<Header>,
    /// httpbin must answer (if it does not refuse the request) with a `set-cookie`: the case
    /// put a secret in the response through httpbin.
    pub expects_secret_cookie: bool,
    /// The headers Envoy passes on (lower-case names, values), when the reference model
    /// ([`super::reference::envoy_headers`]) does not apply: line breaks that make other
    /// header lines. `None`: the model says.
    pub passed_on: Option<Vec<(String, Vec<u8>)>>,
}

impl Case {
    /// A `GET path` with `headers`.
    pub fn new(label: impl Into<String>, path: impl Into<Vec<u8>>, headers: Vec<Header>) -> Case {
        Case {
            label: label.into(),
            path: path.into(),
            headers,
            expects_secret_cookie: false,
            passed_on: None,
        }
    }

    /// The headers Envoy should pass on to the filter, in order (the set ones included).
    pub fn expected_headers(&self) -> Vec<(String, Vec<u8>)> {
        let modelled = || reference::envoy_headers(&self.headers);
        self.passed_on.clone().unwrap_or_else(modelled)
    }

    /// The request, byte for byte: `GET path HTTP/1.1`, `host`, `connection: close`, the id,
    /// then the headers exactly as given.
    pub fn render(&self, id: &str) -> Vec<u8> {
        let fixed = format!("host: {HOST}\r\nconnection: close\r\n{ID_HEADER}: {id}\r\n");
        let mut out = [b"GET ", &self.path[..], b" HTTP/1.1\r\n", fixed.as_bytes()].concat();
        for h in &self.headers {
            out.extend([&h.name[..], &h.separator, &h.value, b"\r\n"].concat());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The request as one escaped line, cut after `max` characters, for reports.
    pub fn describe(&self, id: &str, max: usize) -> String {
        let raw = self.render(id);
        let text = reference::escape(&raw);
        match text.char_indices().nth(max) {
            Some((at, _)) => format!("{} ... ({} bytes in all)", &text[..at], raw.len()),
            None => text,
        }
    }
}

/// Percent-encodes every byte (`%41` for `A`): the path then never holds a secret literally.
pub fn percent_encode_all(bytes: impl AsRef<[u8]>) -> String {
    bytes.as_ref().iter().map(|b| format!("%{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bytes_as_given() {
        let mut odd = Header::new("X-Odd", b"a\xff\r\n b".to_vec());
        odd.separator = b":".to_vec();
        let case = Case::new("t", "/headers", vec![Header::new("x-a", "1"), odd]);
        assert_eq!(
            case.render("7"),
            b"GET /headers HTTP/1.1\r\nhost: hostile.test\r\nconnection: close\r\n\
              x-hostile-id: 7\r\nx-a: 1\r\nX-Odd:a\xff\r\n b\r\n\r\n"
        );
        assert_eq!(
            case.describe("7", 20),
            "GET /headers HTTP/1. ... (103 bytes in all)"
        );
        assert_eq!(case.headers[1].lower_name(), "x-odd");
    }

    #[test]
    fn percent_encodes_every_byte() {
        assert_eq!(percent_encode_all(b"aZ=\xff"), "%61%5A%3D%FF");
    }
}
