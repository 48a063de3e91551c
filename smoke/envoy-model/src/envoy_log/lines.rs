//! Envoy's own log lines and its access log lines, read as bytes (a header can put any byte
//! into a line, and a line must be judged before it is trusted to be text).

/// One of Envoy's own lines in its default format: `[date time][thread][level][logger] rest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyLine<'a> {
    /// `info`, `warning`, `error`, `critical`, ...
    pub level: String,
    /// Envoy's thread id.
    pub thread: Option<u64>,
    /// `main`, `wasm`, `http`, ...
    pub logger: String,
    /// What follows the logger's `]`: ` [source/…:123] message`.
    pub rest: &'a [u8],
}

impl<'a> EnvoyLine<'a> {
    /// Parses the prefix of one line; `None` when it is not one of Envoy's default-format lines.
    pub fn parse(raw: &'a [u8]) -> Option<EnvoyLine<'a>> {
        let mut fields = [&raw[..0]; 4];
        let mut rest = raw;
        for field in &mut fields {
            let inner = rest.strip_prefix(b"[")?;
            let close = memchr::memchr(b']', inner)?;
            (*field, rest) = (&inner[..close], &inner[close + 1..]);
        }
        let [date_time, thread, level, logger] = fields;
        let looks_like_time = date_time.len() == 23
            && date_time[..4].iter().all(u8::is_ascii_digit)
            && date_time[10] == b' ';
        if !looks_like_time || !thread.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
        Some(EnvoyLine {
            level: text(level),
            thread: text(thread).parse().ok(),
            logger: text(logger),
            rest,
        })
    }

    /// A line the filter wrote: logger `wasm`, `wasm log …`.
    pub fn is_wasm_log(&self) -> bool {
        self.logger == "wasm" && memchr::memmem::find(self.rest, b"wasm log").is_some()
    }

    /// At level error or critical.
    pub fn is_error(&self) -> bool {
        matches!(self.level.as_str(), "error" | "critical")
    }
}

/// `[2026-11-23T20:50:09.226Z] "GET … "127.0.0.1:40109"`: Envoy's default access log format,
/// which starts with the time and ends with the quoted upstream host.
pub fn is_access_line(raw: &[u8]) -> bool {
    raw.len() > 28
        && raw[0] == b'['
        && raw[11] == b'T'
        && raw[1..5].iter().all(u8::is_ascii_digit)
        && raw.get(24..28) == Some(b"Z] \"".as_slice())
        && raw.ends_with(b"\"")
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_level_and_logger() {
        let line = b"[2026-11-23 20:50:09.219][18699][warning][main] [source/server/server.cc:1059] no limit";
        let parsed = EnvoyLine::parse(line).unwrap();
        assert_eq!(
            (parsed.level.as_str(), parsed.logger.as_str()),
            ("warning", "main")
        );
        assert!(!parsed.is_wasm_log() && !parsed.is_error());
        for other in [&b"request header --> x: 1"[..], b"[a][b][c][d] x", b""] {
            assert_eq!(EnvoyLine::parse(other), None);
        }
    }

    #[test]
    fn last_lines_of_short_and_long_texts() {
        assert_eq!(last_lines("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(last_lines("a", 5), ["a"]);
        assert!(last_lines("", 3).is_empty());
    }
}
