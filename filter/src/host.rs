//! The few proxy-wasm host calls the filter makes, declared here so that none of them can panic.
//!
//! The SDK's own wrappers (`proxy_wasm::hostcalls`) `panic!` on any status they don't expect and
//! unwrap header names (and values) as UTF-8. These return every status as a [`HostError`] and
//! hand out bytes. Statuses and log levels arrive as plain `u32`s, so an unknown value from the
//! host can't become an invalid enum.
//!
//! Memory the host returns was allocated through the SDK's exported `proxy_on_memory_allocate`
//! (a `Vec<u8>` with capacity equal to its size, forgotten), so it is taken back with
//! `Vec::from_raw_parts(ptr, size, size)` exactly as the SDK does; a null pointer is no data.

use proxy_wasm::types::{BufferType, LogLevel, MapType};

/// A host call returned this status instead of `Ok` (0); `filter_core::logline::host_failure`
/// words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError(pub u32);

const OK: u32 = 0;
const NOT_FOUND: u32 = 1;

mod raw {
    // Same imports (module "env", names, wasm signatures) as the SDK's hostcalls.rs; statuses and
    // levels are read as u32.
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
        pub fn proxy_get_log_level(return_level: *mut u32) -> u32;
        pub fn proxy_get_buffer_bytes(
            buffer_type: u32,
            start: usize,
            max_size: usize,
            return_buffer_data: *mut *mut u8,
            return_buffer_size: *mut usize,
        ) -> u32;
        pub fn proxy_get_header_map_pairs(
            map_type: u32,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> u32;
        pub fn proxy_replace_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_add_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
    }
}

fn check(status: u32) -> Result<(), HostError> {
    if status == OK {
        Ok(())
    } else {
        Err(HostError(status))
    }
}

/// Takes ownership of memory the host allocated through `proxy_on_memory_allocate`.
///
/// # Safety
/// `data` must be null or come from `proxy_on_memory_allocate(size)`, not yet taken back.
unsafe fn take_host_bytes(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract above, `data` is a forgotten Vec<u8> allocation of `size` bytes
    // with capacity `size`, all initialized by the host.
    unsafe { Vec::from_raw_parts(data, size, size) }
}

/// Writes one line to Envoy's log at `level`, best effort: a failed log can't be reported.
pub fn log(level: LogLevel, message: &str) {
    // SAFETY: the pointer and length describe `message`, which outlives the call.
    unsafe { raw::proxy_log(level as u32, message.as_ptr(), message.len()) };
}

/// Envoy's current log level for wasm (it can change at runtime), as proxy-wasm numbers it
/// ([`LogLevel`]: 0 trace ... 5 critical; above: off).
pub fn log_level() -> Result<u32, HostError> {
    let mut level = u32::MAX;
    // SAFETY: the host writes one u32 through a valid pointer.
    check(unsafe { raw::proxy_get_log_level(&mut level) })?;
    Ok(level)
}

/// The plugin configuration (up to `size` bytes); empty when there is none.
pub fn plugin_configuration(size: usize) -> Result<Vec<u8>, HostError> {
    let mut data: *mut u8 = core::ptr::null_mut();
    let mut len: usize = 0;
    // SAFETY: the host writes a pointer and a length through valid pointers.
    let status = unsafe {
        raw::proxy_get_buffer_bytes(
            BufferType::PluginConfiguration as u32,
            0,
            size,
            &mut data,
            &mut len,
        )
    };
    match status {
        OK => Ok(unsafe { take_host_bytes(data, len) }),
        NOT_FOUND => Ok(Vec::new()),
        other => Err(HostError(other)),
    }
}

/// The serialized header map, for `filter_core::logline::header_lines`.
pub fn header_map_pairs(map: MapType) -> Result<Vec<u8>, HostError> {
    let mut data: *mut u8 = core::ptr::null_mut();
    let mut len: usize = 0;
    // SAFETY: the host writes a pointer and a length through valid pointers.
    check(unsafe { raw::proxy_get_header_map_pairs(map as u32, &mut data, &mut len) })?;
    // SAFETY: on success the host allocated `data` through proxy_on_memory_allocate(len).
    Ok(unsafe { take_host_bytes(data, len) })
}

/// Sets `name` to `value`, replacing any value it had.
pub fn replace_header(map: MapType, name: &str, value: &str) -> Result<(), HostError> {
    // SAFETY: the pointers and lengths describe `name` and `value`, which outlive the call.
    check(unsafe {
        raw::proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Adds `name: value`, keeping any value `name` already had.
pub fn add_header(map: MapType, name: &str, value: &str) -> Result<(), HostError> {
    // SAFETY: the pointers and lengths describe `name` and `value`, which outlive the call.
    check(unsafe {
        raw::proxy_add_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}
