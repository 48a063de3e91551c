//! What each line of Envoy's log and access log must look like during the hostile suite.
//!
//! Every line of Envoy's log is one of its own lines, `[2026-11-23 20:50:09.226][18705][info][wasm] …`,
//! and every line of its access log (a file of its own: `xtask::stack::Envoy::access_log`) is
//! `[2026-11-23T20:50:09.226Z] "GET …" … "<upstream>"`. Anything else is a piece of a split
//! line, or a line a header forged. The filter's lines (logger `wasm`, `wasm log …`) must
//! also be valid UTF-8 with no raw control, C1, separator or bidi character, at level info.
//! Lines at level error or critical (a wasm trap, a failed callback) are failures too.

use envoy_model::envoy_log::{EnvoyLine, WasmLine, is_access_line, parse_line};

use filter_testing::hostile::reference;

/// Classifies one line of Envoy's log or its access log: `Ok(Some)` for a line the filter
/// wrote (`wasm log …: message`), checked and parsed; `Ok(None)` for one of Envoy's own lines
/// or an access log line; `Err` says why the line is not acceptable (it is a failure).
pub fn classify(raw: &[u8]) -> Result<Option<WasmLine>, String> {
    if is_access_line(raw) {
        return Ok(None);
    }
    let line = EnvoyLine::parse(raw).ok_or(
        "a line that is neither one of Envoy's nor an access log line: a split or forged line",
    )?;
    if line.is_error() {
        return Err(format!(
            "Envoy logged at level {} (logger {}): a wasm trap or a failed callback?",
            line.level, line.logger
        ));
    }
    if !line.is_wasm_log() {
        return Ok(None);
    }
    let text = std::str::from_utf8(raw).map_err(|e| {
        let at = e.valid_up_to();
        format!("a filter line that is not valid UTF-8 (byte {at} is not)")
    })?;
    if let Some((at, c)) = reference::unsafe_char(text) {
        return Err(format!(
            "a filter line holding a raw {:?} (U+{:04X}) at byte {at}",
            c, c as u32
        ));
    }
    let parsed = parse_line(text).ok_or("a filter line envoy_model::envoy_log can't parse")?;
    if parsed.level != "info" {
        return Err(format!(
            "the filter logged at level {}: {}",
            parsed.level, parsed.message
        ));
    }
    Ok(Some(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "[2026-11-23 20:50:09.226][18705][info][wasm] \
        [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: ";

    fn filter_line(message: &str) -> Vec<u8> {
        format!("{PREFIX}{message}").into_bytes()
    }

    #[test]
    fn accepts_envoy_filter_and_access_lines() {
        let Ok(Some(line)) = classify(&filter_line("request header --> x-a: \\xff")) else {
            panic!("not a filter line")
        };
        assert_eq!(line.message, "request header --> x-a: \\xff");
        let access =
            b"[2026-11-23T20:50:09.226Z] \"GET /headers HTTP/1.1\" 200 - 0 251 3 1 \"-\" \"\xff\"";
        assert!(is_access_line(access));
        assert_eq!(classify(access), Ok(None));
        let warning = b"[2026-11-23 20:50:09.219][18699][warning][main] [source/server/server.cc:1059] There is no configured limit";
        assert_eq!(classify(warning), Ok(None));
    }

    #[test]
    fn refuses_raw_controls_and_invalid_utf8_in_filter_lines() {
        for bad in [
            filter_line("request header --> x-a: a\rb"),
            filter_line("request header --> x-a: \u{1b}[31m"),
            filter_line("request header --> x-a: \u{202E}evil"),
            filter_line("request header --> x-a: \u{85}"),
            [filter_line("request header --> x-a: "), b"\xff".to_vec()].concat(),
        ] {
            let verdict = classify(&bad);
            assert!(
                verdict.is_err(),
                "EXPECTED a refusal\nGOT: {verdict:?} for {}",
                String::from_utf8_lossy(&bad)
            );
        }
    }

    #[test]
    fn refuses_forged_and_split_lines_and_traps() {
        // What a header holding `\n` would leave if the filter did not escape it.
        assert!(classify(b"request header --> x-hostile-forged: 1").is_err());
        assert!(classify(b"").is_err());
        // An access line must end with the quoted upstream host.
        assert!(
            classify(b"[2026-11-23T20:50:09.226Z] \"GET / HTTP/1.1\" 200 ... forged tail").is_err()
        );
        let trap = b"[2026-11-23 20:50:09.226][18705][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable";
        assert!(classify(trap).unwrap_err().contains("error"));
        let warn = format!("{PREFIX}http_headers: can't read the headers").replacen(
            "[info][wasm]",
            "[warning][wasm]",
            1,
        );
        assert!(classify(warn.as_bytes()).unwrap_err().contains("warning"));
    }
}
