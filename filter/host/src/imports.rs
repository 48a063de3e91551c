//! The host functions: the proxy-wasm calls the filter, the SDK's dispatcher and the benchmark
//! baselines make (as Envoy answers them), the four WASI imports of a `wasm32-wasip1` module,
//! and for every other import a stub that records the call and answers `Unimplemented`.
//!
//! Every call is counted by name in [`HostState::calls`]; a name in [`HostState::failing`]
//! returns that status and does nothing, as a host under trouble would.

use std::io::Write as _;

use wasmtime::{Caller, Extern, Linker, Module, Result, Val, bail, ensure, format_err};

use crate::abi::{self, LogLevel, serialize_map};
use crate::state::{HostState, LogLine};

/// A linker with every import of `module` defined, each answered by [`answer`].
pub fn linker(module: &Module) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(module.engine());
    for import in module.imports() {
        let (namespace, name) = (import.module(), import.name());
        let Some(ty) = import.ty().func().cloned() else {
            bail!(
                "the module imports {namespace}.{name}, which is not a function: this host provides only functions"
            );
        };
        let import = name.to_string();
        linker.func_new(namespace, name, ty, move |mut caller, params, results| {
            // A parameter that is not an i32 fits no signature `answer` knows: a stub.
            let args: Option<Vec<u32>> = params.iter().map(|p| p.i32().map(|v| v as u32)).collect();
            let status = answer(&mut caller, &import, args.as_deref().unwrap_or_default())?;
            results.fill(Val::I32(status as i32));
            Ok(())
        })?;
    }
    Ok(linker)
}

/// Answers the module's call of `import` with `args`: the status it returns (WASI's success,
/// 0, is `Ok`'s number too).
fn answer(caller: &mut Caller<'_, HostState>, import: &str, args: &[u32]) -> Result<u32> {
    // Every call recorded (with the fuel left, when tracing), then failed if a test asked.
    let fuel_left = caller.get_fuel()?;
    let state = caller.data_mut();
    state.traced(import, fuel_left);
    *state.calls.entry(import.to_string()).or_default() += 1;
    if let Some(&failed) = state.failing.get(import) {
        return Ok(failed);
    }
    match (import, args) {
        ("proxy_log", &[level, data, size]) => {
            let message = read(caller, data, size)?;
            let level = LogLevel::from_u32(level);
            caller.data_mut().log.push(LogLine { level, message });
        }
        ("proxy_get_log_level", &[return_level]) => {
            let level = caller.data().log_level as u32;
            write(caller, return_level, &level.to_le_bytes())?;
        }
        ("proxy_get_buffer_bytes", &[buffer, start, max_size, return_data, return_size]) => {
            let bytes = match buffer {
                abi::PLUGIN_CONFIGURATION => caller.data().plugin_configuration.clone(),
                abi::VM_CONFIGURATION => Vec::new(),
                _ => return Ok(abi::NOT_FOUND),
            };
            let Some(rest) = bytes.get(start as usize..) else {
                return Ok(abi::BAD_ARGUMENT);
            };
            let part = &rest[..rest.len().min(max_size as usize)];
            // As proxy-wasm-cpp-host: nothing to copy is Ok with the return pointers untouched.
            if !part.is_empty() {
                hand_over(caller, part, return_data, return_size)?;
            }
        }
        ("proxy_get_header_map_pairs", &[map, return_data, return_size]) => {
            let Some(headers) = caller.data_mut().map_mut(map) else {
                return Ok(abi::BAD_ARGUMENT);
            };
            let serialized = serialize_map(headers);
            hand_over(caller, &serialized, return_data, return_size)?;
        }
        (
            "proxy_replace_header_map_value" | "proxy_add_header_map_value",
            &[map, name_data, name_size, value_data, value_size],
        ) => {
            let key = read(caller, name_data, name_size)?.to_ascii_lowercase();
            let value = read(caller, value_data, value_size)?;
            let Some(headers) = caller.data_mut().map_mut(map) else {
                return Ok(abi::BAD_ARGUMENT);
            };
            // Envoy's `setCopy` (replace) removes every entry of the name, then appends.
            if import == "proxy_replace_header_map_value" {
                headers.retain(|(n, _)| *n != key);
            }
            headers.push((key, value));
        }
        // What the module writes to stdout or stderr (a panic's message) goes to stderr.
        ("fd_write", &[1 | 2, iovs, iovs_len, return_written]) => {
            let mut written = 0u32;
            for iov in (0..iovs_len).map(|i| iovs + 8 * i) {
                let (data, size) = (read_u32(caller, iov)?, read_u32(caller, iov + 4)?);
                let bytes = read(caller, data, size)?;
                written += bytes.len() as u32;
                let _ = std::io::stderr().write_all(&bytes);
            }
            write(caller, return_written, &written.to_le_bytes())?;
        }
        // Any other file descriptor is not open: WASI's `BADF`, 8.
        ("fd_write", &[_, _, _, _]) => return Ok(8),
        ("environ_sizes_get", &[return_count, return_size]) => {
            write(caller, return_count, &0u32.to_le_bytes())?;
            write(caller, return_size, &0u32.to_le_bytes())?;
        }
        ("environ_get", &[_environ, _buffer]) => {}
        ("proc_exit", &[code]) => bail!("the module called proc_exit({code})"),
        _ => {
            caller.data_mut().unexpected.push(import.to_string());
            return Ok(abi::UNIMPLEMENTED);
        }
    }
    Ok(abi::OK)
}

/// `size` bytes of the module's memory at `data`.
fn read(caller: &mut Caller<'_, HostState>, data: u32, size: u32) -> Result<Vec<u8>> {
    let memory = memory(caller)?;
    let (start, end) = (data as usize, data as usize + size as usize);
    let bytes = memory.data(&caller).get(start..end).map(<[u8]>::to_vec);
    bytes.ok_or_else(|| format_err!("the module passed memory {start}..{end}, outside its memory"))
}

/// The u32 (little-endian) in the module's memory at `at`.
fn read_u32(caller: &mut Caller<'_, HostState>, at: u32) -> Result<u32> {
    // `read` gives the 4 bytes asked for.
    let word = read(caller, at, 4)?.try_into().unwrap_or_default();
    Ok(u32::from_le_bytes(word))
}

/// Writes `bytes` into the module's memory at `at`.
fn write(caller: &mut Caller<'_, HostState>, at: u32, bytes: &[u8]) -> Result<()> {
    let memory = memory(caller)?;
    let written = memory.write(&mut *caller, at as usize, bytes);
    written.map_err(|_| format_err!("the module passed a return pointer {at} outside its memory"))
}

fn memory(caller: &mut Caller<'_, HostState>) -> Result<wasmtime::Memory> {
    let memory = caller.get_export("memory").and_then(Extern::into_memory);
    memory.ok_or_else(|| format_err!("the module exports no memory"))
}

/// Gives `bytes` to the module as Envoy does: memory from its `proxy_on_memory_allocate`, the
/// bytes copied in, the pointer and size written to `return_data` and `return_size`.
fn hand_over(
    caller: &mut Caller<'_, HostState>,
    bytes: &[u8],
    return_data: u32,
    return_size: u32,
) -> Result<()> {
    const ALLOCATE: &str = "proxy_on_memory_allocate";
    let allocate = caller.get_export(ALLOCATE).and_then(Extern::into_func);
    let allocate = allocate.ok_or_else(|| format_err!("the module exports no {ALLOCATE}"))?;
    let allocate = allocate.typed::<u32, u32>(&*caller)?;
    let size = bytes.len() as u32;
    let data = allocate.call(&mut *caller, size)?;
    ensure!(data != 0, "{ALLOCATE}({size}) returned null");
    write(caller, data, bytes)?;
    write(caller, return_data, &data.to_le_bytes())?;
    write(caller, return_size, &size.to_le_bytes())
}
