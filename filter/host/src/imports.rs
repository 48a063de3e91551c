//! The host functions: the proxy-wasm calls the filter, the SDK's dispatcher and the benchmark
//! baselines make (as Envoy answers them), the four WASI imports of a `wasm32-wasip1` module,
//! and a stub for every other import, which records the call and answers `Unimplemented`.
//!
//! Every call is counted by name in [`HostState::calls`]; a name in [`HostState::failing`]
//! returns that status and does nothing, as a host under trouble would.

use std::collections::BTreeSet;

use wasmtime::{Caller, Extern, Linker, Module, Result, Val, bail, format_err};

use crate::abi::{LogLevel, buffer_type, serialize_map, status};
use crate::state::{HostState, LogLine};

/// A linker with every import of `module` defined.
pub fn linker(module: &Module) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(module.engine());
    let mut defined = BTreeSet::new();
    let mut env = |name: &'static str| {
        defined.insert(("env", name));
        name
    };

    linker.func_wrap(
        "env",
        env("proxy_log"),
        |mut caller: Caller<'_, HostState>, level: u32, data: u32, size: u32| -> Result<u32> {
            if let Some(failed) = enter(&mut caller, "proxy_log") {
                return Ok(failed);
            }
            let message = read(&mut caller, data, size)?;
            let level = LogLevel::from_u32(level);
            caller.data_mut().log.push(LogLine { level, message });
            Ok(status::OK)
        },
    )?;
    linker.func_wrap(
        "env",
        env("proxy_get_log_level"),
        |mut caller: Caller<'_, HostState>, return_level: u32| -> Result<u32> {
            if let Some(failed) = enter(&mut caller, "proxy_get_log_level") {
                return Ok(failed);
            }
            let level = caller.data().log_level as u32;
            write(&mut caller, return_level, &level.to_le_bytes())?;
            Ok(status::OK)
        },
    )?;
    linker.func_wrap(
        "env",
        env("proxy_get_buffer_bytes"),
        |mut caller: Caller<'_, HostState>,
         buffer: u32,
         start: u32,
         max_size: u32,
         return_data: u32,
         return_size: u32|
         -> Result<u32> {
            if let Some(failed) = enter(&mut caller, "proxy_get_buffer_bytes") {
                return Ok(failed);
            }
            let bytes = match buffer {
                buffer_type::PLUGIN_CONFIGURATION => caller.data().plugin_configuration.clone(),
                buffer_type::VM_CONFIGURATION => Vec::new(),
                _ => return Ok(status::NOT_FOUND),
            };
            let start = start as usize;
            if start > bytes.len() {
                return Ok(status::BAD_ARGUMENT);
            }
            let end = bytes.len().min(start.saturating_add(max_size as usize));
            // As proxy-wasm-cpp-host: nothing to copy is Ok with the return pointers untouched.
            if end > start {
                hand_over(&mut caller, &bytes[start..end], return_data, return_size)?;
            }
            Ok(status::OK)
        },
    )?;
    linker.func_wrap(
        "env",
        env("proxy_get_header_map_pairs"),
        |mut caller: Caller<'_, HostState>,
         map: u32,
         return_data: u32,
         return_size: u32|
         -> Result<u32> {
            if let Some(failed) = enter(&mut caller, "proxy_get_header_map_pairs") {
                return Ok(failed);
            }
            let Some(headers) = caller.data_mut().map_mut(map) else {
                return Ok(status::BAD_ARGUMENT);
            };
            let serialized = serialize_map(headers);
            hand_over(&mut caller, &serialized, return_data, return_size)?;
            caller.data_mut().maps_read.push(serialized);
            Ok(status::OK)
        },
    )?;
    for (name, replace) in [
        (env("proxy_replace_header_map_value"), true),
        (env("proxy_add_header_map_value"), false),
    ] {
        linker.func_wrap(
            "env",
            name,
            move |mut caller: Caller<'_, HostState>,
                  map: u32,
                  name_data: u32,
                  name_size: u32,
                  value_data: u32,
                  value_size: u32|
                  -> Result<u32> {
                if let Some(failed) = enter(&mut caller, name) {
                    return Ok(failed);
                }
                let key = read(&mut caller, name_data, name_size)?.to_ascii_lowercase();
                let value = read(&mut caller, value_data, value_size)?;
                let Some(headers) = caller.data_mut().map_mut(map) else {
                    return Ok(status::BAD_ARGUMENT);
                };
                // Envoy's `setCopy` (replace) removes every entry of the name, then appends.
                if replace {
                    headers.retain(|(n, _)| *n != key);
                }
                headers.push((key, value));
                Ok(status::OK)
            },
        )?;
    }

    let mut wasi = |name: &'static str| {
        defined.insert(("wasi_snapshot_preview1", name));
        name
    };
    linker.func_wrap(
        "wasi_snapshot_preview1",
        wasi("fd_write"),
        |mut caller: Caller<'_, HostState>,
         fd: u32,
         iovs: u32,
         iovs_len: u32,
         return_written: u32|
         -> Result<u32> {
            if let Some(failed) = enter(&mut caller, "fd_write") {
                return Ok(failed);
            }
            const BADF: u32 = 8;
            if fd != 1 && fd != 2 {
                return Ok(BADF);
            }
            let mut written = 0u32;
            for i in 0..iovs_len {
                let iov = read(&mut caller, iovs + 8 * i, 8)?;
                let word = |at: usize| {
                    u32::from_le_bytes([iov[at], iov[at + 1], iov[at + 2], iov[at + 3]])
                };
                let bytes = read(&mut caller, word(0), word(4))?;
                written += bytes.len() as u32;
                caller.data_mut().output.extend_from_slice(&bytes);
            }
            write(&mut caller, return_written, &written.to_le_bytes())?;
            Ok(0)
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        wasi("environ_sizes_get"),
        |mut caller: Caller<'_, HostState>, return_count: u32, return_size: u32| -> Result<u32> {
            enter(&mut caller, "environ_sizes_get");
            write(&mut caller, return_count, &0u32.to_le_bytes())?;
            write(&mut caller, return_size, &0u32.to_le_bytes())?;
            Ok(0)
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        wasi("environ_get"),
        |mut caller: Caller<'_, HostState>, _environ: u32, _buffer: u32| -> Result<u32> {
            enter(&mut caller, "environ_get");
            Ok(0)
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        wasi("proc_exit"),
        |mut caller: Caller<'_, HostState>, code: u32| -> Result<()> {
            enter(&mut caller, "proc_exit");
            bail!("the module called proc_exit({code})")
        },
    )?;

    for import in module.imports() {
        if defined.contains(&(import.module(), import.name())) {
            continue;
        }
        let Some(ty) = import.ty().func().cloned() else {
            bail!(
                "the module imports {}.{}, which is not a function: this host provides only functions",
                import.module(),
                import.name()
            );
        };
        let name = import.name().to_string();
        linker.func_new(
            import.module(),
            import.name(),
            ty,
            move |mut caller, _params, results| {
                enter(&mut caller, &name);
                caller.data_mut().unexpected.push(name.clone());
                for result in results.iter_mut() {
                    *result = Val::I32(status::UNIMPLEMENTED as i32);
                }
                Ok(())
            },
        )?;
    }
    Ok(linker)
}

/// Records a call to `import`; the status to fail it with, if a test asked for that.
fn enter(caller: &mut Caller<'_, HostState>, import: &str) -> Option<u32> {
    let fuel = caller
        .data()
        .trace
        .as_ref()
        .and_then(|_| caller.get_fuel().ok());
    caller.data_mut().enter(import, fuel)
}

/// `size` bytes of the module's memory at `data`.
fn read(caller: &mut Caller<'_, HostState>, data: u32, size: u32) -> Result<Vec<u8>> {
    let memory = memory(caller)?;
    let (start, end) = (data as usize, data as usize + size as usize);
    memory
        .data(&caller)
        .get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| format_err!("the module passed memory {start}..{end}, outside its memory"))
}

/// Writes `bytes` into the module's memory at `at`.
fn write(caller: &mut Caller<'_, HostState>, at: u32, bytes: &[u8]) -> Result<()> {
    let memory = memory(caller)?;
    memory
        .write(&mut *caller, at as usize, bytes)
        .map_err(|_| format_err!("the module passed a return pointer {at} outside its memory"))
}

fn memory(caller: &mut Caller<'_, HostState>) -> Result<wasmtime::Memory> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| format_err!("the module exports no memory"))
}

/// Gives `bytes` to the module as Envoy does: memory from its `proxy_on_memory_allocate`, the
/// bytes copied in, the pointer and size written to `return_data` and `return_size`.
fn hand_over(
    caller: &mut Caller<'_, HostState>,
    bytes: &[u8],
    return_data: u32,
    return_size: u32,
) -> Result<()> {
    let allocate = caller
        .get_export("proxy_on_memory_allocate")
        .and_then(Extern::into_func)
        .ok_or_else(|| format_err!("the module exports no proxy_on_memory_allocate"))?
        .typed::<u32, u32>(&*caller)?;
    let size = bytes.len() as u32;
    let data = allocate.call(&mut *caller, size)?;
    if data == 0 {
        bail!("proxy_on_memory_allocate({size}) returned null");
    }
    write(caller, data, bytes)?;
    write(caller, return_data, &data.to_le_bytes())?;
    write(caller, return_size, &size.to_le_bytes())
}
