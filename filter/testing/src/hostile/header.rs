//! One header of a hostile request, as it is written on the wire.

/// A header as written: `name`, then `separator` (usually `: `), then `value`, then CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name as sent (any case).
    pub name: Vec<u8>,
    /// What stands between the name and the value: `: `, `:`, `:\t`, ...
    pub separator: Vec<u8>,
    /// The raw value, as written (CR, LF and any byte allowed).
    pub value: Vec<u8>,
}

impl Header {
    /// `name: value`.
    pub fn new(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Header {
        Header {
            name: name.into(),
            separator: b": ".to_vec(),
            value: value.into(),
        }
    }

    /// The lower-cased name, as Envoy passes it on.
    pub fn lower_name(&self) -> String {
        String::from_utf8_lossy(&self.name).to_ascii_lowercase()
    }
}
