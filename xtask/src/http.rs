//! A minimal blocking HTTP/1.1 client over a plain socket: readiness probes, and requests
//! that mainstream clients refuse to write (raw bytes in header values).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Header names (lower-cased) and raw values, in order.
pub type Headers = Vec<(String, Vec<u8>)>;

/// An HTTP response, as read off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and raw values, in order.
    pub headers: Headers,
    /// The body (de-chunked when the response was chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower-case), as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET path` on `addr` with `Connection: close`.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Response> {
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    send(addr, request.as_bytes(), timeout)
}

/// Writes `request` (a complete HTTP/1.1 request, byte for byte) and reads the response
/// until the server closes the connection or the body is complete.
pub fn send(addr: SocketAddr, request: &[u8], timeout: Duration) -> Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream
        .write_all(request)
        .with_context(|| format!("writing the request to {addr}"))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if let Some(response) = parse(&raw)? {
                    return Ok(response);
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => {
                break;
            }
            Err(err) => {
                return Err(err).with_context(|| format!("reading the response from {addr}"));
            }
        }
    }
    match parse(&raw)? {
        Some(response) => Ok(response),
        None if raw.is_empty() => bail!("{addr} closed the connection without answering"),
        None => parse_to_close(&raw),
    }
}

/// Parses a complete response, or `None` if more bytes are needed.
fn parse(raw: &[u8]) -> Result<Option<Response>> {
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        return Ok(None);
    };
    let (status, headers) = parse_head(&raw[..head_end])?;
    let body = &raw[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case(b"chunked"));
    if chunked {
        return Ok(dechunk(body).map(|body| Response {
            status,
            headers,
            body,
        }));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok());
    match length {
        Some(len) if body.len() >= len => Ok(Some(Response {
            status,
            headers,
            body: body[..len].to_vec(),
        })),
        Some(_) => Ok(None),
        None if status == 204 || status == 304 => Ok(Some(Response {
            status,
            headers,
            body: Vec::new(),
        })),
        None => Ok(None),
    }
}

/// A response delimited by the connection's close.
fn parse_to_close(raw: &[u8]) -> Result<Response> {
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        bail!(
            "incomplete response head: {:?}",
            String::from_utf8_lossy(raw)
        )
    };
    let (status, headers) = parse_head(&raw[..head_end])?;
    Ok(Response {
        status,
        headers,
        body: raw[head_end + 4..].to_vec(),
    })
}

fn parse_head(head: &[u8]) -> Result<(u16, Headers)> {
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP status line: {status_line:?}"))?;
    let headers = lines
        .filter_map(|line| {
            let colon = line.iter().position(|b| *b == b':')?;
            let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
            let value = line[colon + 1..].trim_ascii().to_vec();
            Some((name, value))
        })
        .collect();
    Ok((status, headers))
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_content_length_response() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nX-A: b\r\n\r\nok";
        let r = parse(raw).unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-a").as_deref(), Some("b"));
        assert_eq!(r.body, b"ok");
    }

    #[test]
    fn waits_for_the_whole_body_and_dechunks() {
        assert!(
            parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nok")
                .unwrap()
                .is_none()
        );
        let raw =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n1\r\n!\r\n0\r\n\r\n";
        assert_eq!(parse(raw).unwrap().unwrap().body, b"ok!");
    }
}
