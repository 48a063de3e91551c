//! A compiled module ([`Wasm`]) and one instance of it driven through the proxy-wasm lifecycle
//! the way Envoy 1.40.0 drives it ([`Vm`]), with the wasm instructions it executes counted
//! (wasmtime's fuel: one unit per wasm operator, host calls excluded); and what the host holds
//! for one instance ([`HostState`]): Envoy's log level, the plugin configuration, the current
//! stream's header maps, and the record of what the module did (log lines, host calls by
//! name), plus the host calls a test makes fail.

use std::collections::BTreeMap;
use std::path::Path;

use wasmtime::error::Context as _;
use wasmtime::{Config, Engine, InstancePre, Module, Result, Store, WasmParams, WasmResults};

use crate::abi::{self, Headers, LogLevel};
use crate::imports;

/// The root context's id, as Envoy gives it.
const ROOT_CONTEXT_ID: u32 = 1;

/// A module compiled and linked for this host, ready to instantiate any number of times.
pub type Wasm = InstancePre<HostState>;

/// Compiles the module at `path` (a few hundred milliseconds for the filter).
pub fn compile(path: &Path) -> Result<Wasm> {
    let engine = Engine::new(Config::new().consume_fuel(true))?;
    let module = Module::from_file(&engine, path)
        .with_context(|| format!("compiling the wasm module {}", path.display()))?;
    let pre = imports::linker(&module)?.instantiate_pre(&module);
    pre.with_context(|| format!("linking {}", path.display()))
}

/// One instance: a VM as Envoy creates it for a plugin, started by [`Vm::start`].
pub struct Vm {
    store: Store<HostState>,
    instance: wasmtime::Instance,
    next_context_id: u32,
}

/// What one stream did. The header maps after the filter ran stay in [`HostState`] until the
/// next stream.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Its context id.
    pub id: u32,
    /// Every `proxy_log` call it made, in order.
    pub log: Vec<LogLine>,
    /// Its host calls, by import name.
    pub calls: BTreeMap<String, u64>,
    /// Wasm instructions executed, from the context's creation to its deletion.
    pub instructions: u64,
}

impl Vm {
    /// Instantiates `wasm` with `state` as the host and runs `_initialize`.
    pub fn new(wasm: &Wasm, state: HostState) -> Result<Vm> {
        let mut store = Store::new(wasm.module().engine(), state);
        store.set_fuel(u64::MAX)?;
        let instance = wasm.instantiate(&mut store)?;
        let mut vm = Vm {
            store,
            instance,
            next_context_id: ROOT_CONTEXT_ID + 1,
        };
        vm.call::<(), ()>("_initialize", ())?;
        Ok(vm)
    }

    /// Starts the plugin as Envoy does: the root context, `proxy_on_vm_start`, then
    /// `proxy_on_configure` with the configuration's size; its answer (false: refused).
    pub fn start(&mut self) -> Result<bool> {
        self.call::<(u32, u32), ()>("proxy_on_context_create", (ROOT_CONTEXT_ID, 0))?;
        if self.call::<(u32, u32), u32>("proxy_on_vm_start", (ROOT_CONTEXT_ID, 0))? == 0 {
            return Ok(false);
        }
        let size = self.store.data().plugin_configuration.len() as u32;
        Ok(self.call::<(u32, u32), u32>("proxy_on_configure", (ROOT_CONTEXT_ID, size))? != 0)
    }

    /// Runs one stream as Envoy 1.40.0 does for a GET answered with a 3-byte body: context
    /// created, request headers (end of stream), response headers, response body (end of
    /// stream), `on_log`, `on_done`, `on_delete`.
    pub fn stream(&mut self, request: &Headers, response: &Headers) -> Result<Stream> {
        let id = self.next_context_id;
        self.next_context_id += 1;
        let log_before = self.state().log.len();
        let fuel_before = self.fuel_left()?;
        let state = self.state_mut();
        state.calls.clear();
        state.request_headers = request.clone();
        state.response_headers = Vec::new();

        self.call::<(u32, u32), ()>("proxy_on_context_create", (id, ROOT_CONTEXT_ID))?;
        let count = request.len() as u32;
        self.call::<(u32, u32, u32), u32>("proxy_on_request_headers", (id, count, 1))?;
        self.state_mut().response_headers = response.clone();
        let count = response.len() as u32;
        self.call::<(u32, u32, u32), u32>("proxy_on_response_headers", (id, count, 0))?;
        self.call::<(u32, u32, u32), u32>("proxy_on_response_body", (id, 3, 1))?;
        self.call::<u32, ()>("proxy_on_log", id)?;
        self.call::<u32, u32>("proxy_on_done", id)?;
        self.call::<u32, ()>("proxy_on_delete", id)?;

        let instructions = fuel_before - self.fuel_left()?;
        let state = self.state();
        Ok(Stream {
            id,
            log: state.log[log_before..].to_vec(),
            calls: state.calls.clone(),
            instructions,
        })
    }

    /// The host's side: what it holds and what it recorded.
    pub fn state(&self) -> &HostState {
        self.store.data()
    }

    /// The host's side, to change (the log level, the calls that fail, ...).
    pub fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    /// The fuel left: instructions it can still execute (it starts with `u64::MAX`).
    pub fn fuel_left(&self) -> Result<u64> {
        self.store.get_fuel()
    }

    /// Calls the export `name`; a trap is an error that names the export.
    fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, params: P) -> Result<R> {
        let fuel_left = self.fuel_left()?;
        self.state_mut().traced(&format!("→ {name}"), fuel_left);
        let func = self.instance.get_typed_func::<P, R>(&mut self.store, name);
        let func = func.with_context(|| format!("the module's export `{name}`"))?;
        func.call(&mut self.store, params)
            .with_context(|| format!("the module trapped in `{name}`"))
    }
}

/// One `proxy_log` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The level the module gave (`None`: a number that is not a level).
    pub level: Option<LogLevel>,
    /// The message, byte for byte.
    pub message: Vec<u8>,
}

impl LogLine {
    /// The message as text (lossy: a module's lines are meant to be UTF-8, and tests say so).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.message).into_owned()
    }
}

/// The host side of one instance. Tests read and change it through `Vm::state`.
#[derive(Debug, Clone, Default)]
pub struct HostState {
    /// What `proxy_get_log_level` answers: Envoy's level for the `wasm` logger.
    pub log_level: LogLevel,
    /// The `PLUGIN_CONFIGURATION` buffer: `configuration` in envoy.yaml.
    pub plugin_configuration: Vec<u8>,
    /// The request header map of the stream being run (after it: as the filter left it).
    pub request_headers: Headers,
    /// The response header map of the stream being run (after it: as the filter left it).
    pub response_headers: Headers,
    /// Every `proxy_log` call, whatever its level (Envoy prints those at `log_level` or above).
    pub log: Vec<LogLine>,
    /// How many times the module called each import (`proxy_log`, `fd_write`, ...) since the
    /// current stream began (before the first: since the instance was created).
    pub calls: BTreeMap<String, u64>,
    /// Imports the host has no implementation for that the module called anyway.
    pub unexpected: Vec<String>,
    /// Host calls that fail: the import's name and the status it returns, doing nothing.
    pub failing: BTreeMap<String, u32>,
    /// When `Some`, every host call and callback is appended with the fuel left at its start:
    /// the instructions between two entries are the difference (a profile by host call).
    pub trace: Option<Vec<(String, u64)>>,
}

impl HostState {
    /// A host at `log_level` with `plugin_configuration`, no maps, nothing recorded.
    pub fn new(log_level: LogLevel, plugin_configuration: &[u8]) -> HostState {
        HostState {
            log_level,
            plugin_configuration: plugin_configuration.to_vec(),
            ..HostState::default()
        }
    }

    /// Appends `what` to the trace, if there is one.
    pub(crate) fn traced(&mut self, what: &str, fuel_left: u64) {
        if let Some(trace) = &mut self.trace {
            trace.push((what.to_string(), fuel_left));
        }
    }

    /// The header map `map_type` names, if it is one this host has.
    pub(crate) fn map_mut(&mut self, map_type: u32) -> Option<&mut Headers> {
        match map_type {
            abi::HTTP_REQUEST_HEADERS => Some(&mut self.request_headers),
            abi::HTTP_RESPONSE_HEADERS => Some(&mut self.response_headers),
            _ => None,
        }
    }
}
