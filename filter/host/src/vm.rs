//! A compiled module ([`Wasm`]) and one instance of it driven through the proxy-wasm lifecycle
//! the way Envoy 1.40.0 drives it ([`Vm`]), with the wasm instructions it executes counted
//! (wasmtime's fuel: one unit per wasm operator, host calls excluded). What the host holds for
//! the instance is [`HostState`] (`state.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use wasmtime::error::Context as _;
use wasmtime::{Config, Engine, InstancePre, Module, Result, Store, WasmParams, WasmResults};

use crate::abi::Headers;
use crate::imports;
use crate::state::{HostState, LogLine};

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
