//! Envoy's two output streams in one file: access log lines that a buffered write cut in two
//! are put back together.
//!
//! Envoy writes its own log lines to stderr one whole line per write, but the stdout access
//! log in buffered chunks that may end in the middle of a line. Both go to the same file
//! (`xtask::procs::Service`), so a cut access line is glued to the front of the next log
//! line, and its rest starts a later line:
//!
//! ```text
//! [2026-11-23T21:17:40.673Z] "GET /get HTTP/1.1[2026-11-23 21:17:40.943][3375][info][wasm] … request header --> :authority: …
//! …
//! " 200 - 0 226 1 0 "-" "-" "f9461ae6-…" "hostile.test" "127.0.0.1:40109"
//! ```
//!
//! [`Splicer`] undoes exactly that: a line that starts like an access line and holds the
//! start of one of Envoy's own lines further on is split there; the access part is kept
//! until the next line that is not one of Envoy's own, and joined to it. Anything else is
//! passed on as it is, so a line that a header forged still fails the line checks.

/// `[2026-11-23T20:50:09.226Z] "`: the start of an access log line (`0` stands for a digit).
const ACCESS_START: &[u8] = b"[0000-00-00T00:00:00.000Z] \"";
/// `[2026-11-23 20:50:09.226][`: the start of one of Envoy's own log lines.
const ENVOY_START: &[u8] = b"[0000-00-00 00:00:00.000][";

/// Rejoins access log lines cut by the access log's buffered writes.
#[derive(Debug, Default)]
pub struct Splicer {
    /// The front of an access line, waiting for its rest.
    cut: Option<Vec<u8>>,
}

impl Splicer {
    /// Takes the next line of the file and appends the logical lines it completes to `out`.
    pub fn push(&mut self, line: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        let line = match self.cut.take() {
            Some(front) if !matches_template(&line, ENVOY_START) => [front, line].concat(),
            Some(front) => {
                self.cut = Some(front);
                line
            }
            None => line,
        };
        let glued = (1..line.len()).find(|&at| matches_template(&line[at..], ENVOY_START));
        if let Some(at) = glued.filter(|&at| self.cut.is_none() && starts_like_access(&line[..at]))
        {
            let mut front = line;
            let own = front.split_off(at);
            self.cut = Some(front);
            out.push(own);
            return;
        }
        out.push(line);
    }

    /// The front of an access line still waiting for its rest (after Envoy stopped: a line
    /// cut short).
    pub fn pending(&self) -> Option<&[u8]> {
        self.cut.as_deref()
    }
}

/// Whether `line` starts like an access line (or is the start of one).
fn starts_like_access(line: &[u8]) -> bool {
    let n = line.len().min(ACCESS_START.len());
    n > 0 && matches_template(&line[..n], &ACCESS_START[..n])
}

/// Whether `text` starts with `template`, where `0` in the template stands for any digit.
fn matches_template(text: &[u8], template: &[u8]) -> bool {
    text.len() >= template.len()
        && template.iter().zip(text).all(|(t, b)| match t {
            b'0' => b.is_ascii_digit(),
            _ => t == b,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "[2026-11-23 21:17:40.943][3375][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log a b c: request header --> :authority: hostile.test";
    const ACCESS: &str = "[2026-11-23T21:17:40.673Z] \"GET /get HTTP/1.1\" 200 - 0 226 1 0 \"-\" \"-\" \"f946\" \"hostile.test\" \"127.0.0.1:40109\"";

    fn splice(lines: &[Vec<u8>]) -> (Vec<String>, Option<String>) {
        let mut splicer = Splicer::default();
        let mut out = Vec::new();
        for line in lines {
            splicer.push(line.clone(), &mut out);
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            out.iter().map(|l| text(l)).collect(),
            splicer.pending().map(text),
        )
    }

    #[test]
    fn rejoins_a_cut_access_line() {
        for cut in [5, 20, 40, ACCESS.len() - 1] {
            let (front, rest) = ACCESS.split_at(cut);
            let lines = [
                format!("{front}{OWN}").into_bytes(),
                OWN.as_bytes().to_vec(),
                rest.as_bytes().to_vec(),
                ACCESS.as_bytes().to_vec(),
            ];
            let (out, pending) = splice(&lines);
            assert_eq!(out, [OWN, OWN, ACCESS, ACCESS], "cut at {cut}");
            assert_eq!(pending, None);
        }
    }

    #[test]
    fn passes_other_lines_as_they_are() {
        let forged = "request header --> x-hostile-forged: 1";
        let lines = [
            OWN.as_bytes().to_vec(),
            forged.as_bytes().to_vec(),
            b"".to_vec(),
        ];
        let (out, pending) = splice(&lines);
        assert_eq!(out, [OWN, forged, ""]);
        assert_eq!(pending, None);
        // An own line holding an access-like text is not split.
        let inner = format!("{OWN} {ACCESS}");
        assert_eq!(splice(&[inner.clone().into_bytes()]).0, [inner]);
    }

    #[test]
    fn keeps_a_front_without_its_rest_pending() {
        let (front, _) = ACCESS.split_at(30);
        let (out, pending) = splice(&[format!("{front}{OWN}").into_bytes()]);
        assert_eq!(out, [OWN]);
        assert_eq!(pending.as_deref(), Some(front));
    }
}
