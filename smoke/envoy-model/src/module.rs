//! The wasm module Envoy loads, as a file: whether it is there and is a wasm module, checked
//! before Envoy gets to say so less clearly.

use std::io::Read;
use std::path::Path;

/// What is wrong with the wasm module at `path` as a file, if anything: it does not exist,
/// cannot be read, or is not a wasm module (every module starts with the bytes `\0asm`).
pub fn problem(path: &Path) -> Option<String> {
    let mut magic = [0u8; 4];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist".into()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Some("is not a wasm module (it is shorter than 4 bytes)".into())
        }
        Err(e) => Some(format!("cannot be read ({e})")),
        Ok(()) if &magic != b"\0asm" => {
            Some("is not a wasm module (it does not start with the bytes \\0asm)".into())
        }
        Ok(()) => None,
    }
}
