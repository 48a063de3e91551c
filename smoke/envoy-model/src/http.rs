//! A minimal blocking HTTP/1.1 client over a plain socket: readiness probes, and requests
//! that mainstream clients refuse to write (raw bytes in header values).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// An HTTP response, as read off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and raw values, in order.
    pub headers: Vec<(String, Vec<u8>)>,
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
    let line = request.split(|b| *b == b'\n').next().unwrap_or_default();
    log::trace!("{addr}: {}", String::from_utf8_lossy(line).trim_end());
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
        let read = match stream.read(&mut buf) {
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => 0,
            read => read.with_context(|| format!("reading the response from {addr}"))?,
        };
        raw.extend_from_slice(&buf[..read]);
        let closed = read == 0;
        if let Some(response) = parse(&raw, closed)? {
            return Ok(response);
        } else if closed && raw.is_empty() {
            bail!("{addr} closed the connection without answering");
        } else if closed {
            bail!(
                "incomplete response head: {:?}",
                String::from_utf8_lossy(&raw)
            );
        }
    }
}

/// Parses a complete response, or `None` if more bytes are needed; once the connection is
/// `closed`, a body without a complete length is whatever arrived. Interim responses (1xx,
/// but 101 Switching Protocols, which is final) come before the final one and are skipped.
fn parse(raw: &[u8], closed: bool) -> Result<Option<Response>> {
    let mut slots = vec![httparse::EMPTY_HEADER; 512];
    let mut head = httparse::Response::new(&mut slots);
    let body = match head.parse(raw) {
        Ok(httparse::Status::Complete(len)) => &raw[len..],
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => bail!(
            "not an HTTP response ({err}): {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ),
    };
    let status = head.code.context("a response without a status")?;
    if (100..200).contains(&status) && status != 101 {
        return parse(body, closed);
    }
    let headers: Vec<_> = head
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case(b"chunked"));
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok());
    let complete = match length {
        _ if chunked => dechunk(body),
        Some(len) => body.get(..len).map(<[u8]>::to_vec),
        None if status == 204 || status == 304 => Some(Vec::new()),
        None => None,
    };
    let body = complete.or_else(|| closed.then(|| body.to_vec()));
    Ok(body.map(|body| Response {
        status,
        headers,
        body,
    }))
}

/// A chunked body, or `None` until its last chunk has arrived.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let httparse::Status::Complete((start, size)) = httparse::parse_chunk_size(body).ok()?
        else {
            return None;
        };
        let size = usize::try_from(size).ok()?;
        body = &body[start..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_content_length_response() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nX-A: b\r\n\r\nok";
        let r = parse(raw, false).unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-a").as_deref(), Some("b"));
        assert_eq!(r.body, b"ok");
    }

    #[test]
    fn waits_for_the_whole_body_and_dechunks() {
        assert!(
            parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nok", false)
                .unwrap()
                .is_none()
        );
        let raw =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n1\r\n!\r\n0\r\n\r\n";
        assert_eq!(parse(raw, false).unwrap().unwrap().body, b"ok!");
        assert!(parse(&raw[..raw.len() - 7], false).unwrap().is_none());
    }

    /// A `100 Continue` (or `103 Early Hints`) is an interim response: the final one follows.
    #[test]
    fn interim_responses_are_not_the_answer() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n\
                    HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        let r = parse(raw, false).unwrap().unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, b"ok".as_slice()));
        assert_eq!(r.header("link"), None);
        assert!(
            parse(&raw[..30], false).unwrap().is_none(),
            "only the interim response so far"
        );
        let to_close = parse(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nrest",
            true,
        );
        let to_close = to_close.unwrap().unwrap();
        assert_eq!(
            (to_close.status, to_close.body.as_slice()),
            (200, b"rest".as_slice())
        );
    }
}
