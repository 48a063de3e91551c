//! The parts of the proxy-wasm ABI 0.2.1 this host speaks: statuses, log levels, map and buffer
//! types (the numbers Envoy uses), and the serialized header map.

/// `WasmResult::Ok`: a host call's status when it did what was asked.
pub const OK: u32 = 0;
/// `WasmResult::NotFound`: what the call names does not exist.
pub const NOT_FOUND: u32 = 1;
/// `WasmResult::BadArgument`: an argument the host cannot use.
pub const BAD_ARGUMENT: u32 = 2;
/// `WasmResult::Unimplemented`: a call the host does not provide.
pub const UNIMPLEMENTED: u32 = 12;

/// Envoy's log levels for wasm (`proxy_get_log_level`, `proxy_log`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    /// Envoy's default.
    #[default]
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

impl LogLevel {
    /// The level a module passed to `proxy_log`, if it is one.
    pub fn from_u32(level: u32) -> Option<LogLevel> {
        use LogLevel::*;
        let levels = [Trace, Debug, Info, Warn, Error, Critical];
        levels.get(level as usize).copied()
    }
}

/// `MapType::HttpRequestHeaders`: the request header map, as a call names it.
pub const HTTP_REQUEST_HEADERS: u32 = 0;
/// `MapType::HttpResponseHeaders`: the response header map.
pub const HTTP_RESPONSE_HEADERS: u32 = 2;

/// `BufferType::VmConfiguration`: a buffer `proxy_get_buffer_bytes` reads.
pub const VM_CONFIGURATION: u32 = 6;
/// `BufferType::PluginConfiguration`: the plugin's configuration, for `proxy_get_buffer_bytes`.
pub const PLUGIN_CONFIGURATION: u32 = 7;

/// A header map: names and values as bytes, in order.
pub type Headers = Vec<(Vec<u8>, Vec<u8>)>;

/// A header map as `proxy_get_header_map_pairs` hands it over: the number of pairs (u32 LE), then
/// each pair's name and value sizes (u32 LE each), then each name and value followed by a NUL.
pub fn serialize_map(headers: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = (headers.len() as u32).to_le_bytes().to_vec();
    let parts = || headers.iter().flat_map(|(name, value)| [name, value]);
    for part in parts() {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
    }
    for part in parts() {
        out.extend_from_slice(part);
        out.push(0);
    }
    out
}

/// `(name, value)` pairs from text, for tests and the benchmark request.
pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    let bytes = |text: &str| text.as_bytes().to_vec();
    pairs.iter().map(|(n, v)| (bytes(n), bytes(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_map_byte_for_byte() {
        let map = serialize_map(&headers(&[(":path", "/"), ("a", "")]));
        let expected: &[u8] = &[
            2, 0, 0, 0, // two pairs
            5, 0, 0, 0, 1, 0, 0, 0, // `:path` is 5 bytes, `/` 1
            1, 0, 0, 0, 0, 0, 0, 0, // `a` is 1 byte, its value 0
            b':', b'p', b'a', b't', b'h', 0, b'/', 0, // each followed by a NUL
            b'a', 0, 0,
        ];
        assert_eq!(map, expected);
        assert_eq!(serialize_map(&[]), [0, 0, 0, 0]);
    }
}
