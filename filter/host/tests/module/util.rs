//! Helpers of the module's tests: the built modules (built once per run with cargo, as
//! `cargo xtask test` does, so a test never loads a stale module), envoy.yaml's plugin
//! configuration, and a started VM.

use std::sync::OnceLock;

use anyhow::Context as _;
use filter_host::cost::{self, Row};
use filter_host::{HostState, LogLevel, Vm, Wasm};
use xtask::bench::variants::{Module, Modules, VARIANTS};

/// The command that builds what these tests load.
pub const BUILD: &str = "cargo build --release --target wasm32-wasip1 -p filter --example bench_empty --example bench_naive";

/// The filter and the benchmark's baselines, built (release, wasm32-wasip1) and compiled once
/// per test process. Panics with the build command when they can't be built or loaded.
pub fn modules() -> &'static [(Module, Wasm)] {
    static MODULES: OnceLock<Vec<(Module, Wasm)>> = OnceLock::new();
    MODULES.get_or_init(|| {
        let built = Modules::build().unwrap_or_else(|err| {
            panic!("the wasm modules these tests load could not be built: {err:#}\n(build them with `{BUILD}`)")
        });
        let clock = std::time::Instant::now();
        let modules = [Module::Filter, Module::Empty, Module::Naive].map(|module| {
            let path = built.path(module).expect("a wasm module");
            let wasm = Wasm::load(path).unwrap_or_else(|err| {
                panic!("{} could not be loaded: {err:#}\n(rebuild it with `{BUILD}`)", path.display())
            });
            (module, wasm)
        });
        eprintln!("compiled the 3 modules in {:.2} s", clock.elapsed().as_secs_f64());
        modules.into()
    })
}

/// The compiled `module` (`None` for no wasm filter).
pub fn wasm(module: Module) -> Option<&'static Wasm> {
    modules().iter().find(|(m, _)| *m == module).map(|(_, w)| w)
}

/// The filter, as Envoy loads it: target/wasm32-wasip1/release/filter.wasm.
pub fn filter() -> &'static Wasm {
    wasm(Module::Filter).expect("the filter is loaded")
}

/// The cost of every variant of the Envoy benchmark that loads a module, in its table order.
pub fn rows(config: &str) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for variant in &VARIANTS {
        let Some(wasm) = wasm(variant.module) else {
            continue;
        };
        let level = match variant.wasm_log_level {
            "info" => LogLevel::Info,
            "warning" => LogLevel::Warn,
            other => panic!("`{}`: no wasm log level {other}", variant.key),
        };
        let (instructions, lines, host_calls) = cost::measure(wasm, level, config.as_bytes())
            .with_context(|| format!("measuring `{}`", variant.label))?;
        rows.push(Row {
            variant: variant.key,
            label: variant.label,
            instructions,
            lines,
            host_calls,
        });
    }
    Ok(rows)
}

/// The plugin configuration in envoy.yaml, as Envoy hands it to the filter.
pub fn envoy_yaml_config() -> String {
    let path = xtask::paths::envoy_yaml();
    let bootstrap = envoy_model::bootstrap::load(&path);
    let filter = bootstrap.and_then(|doc| envoy_model::bootstrap::wasm_filter(&doc, ""));
    filter
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .plugin_config
}

/// The parsed form of `config`, as the module should see it.
pub fn parsed(config: &str) -> filter_core::PluginConfig {
    filter_core::PluginConfig::parse(config.as_bytes()).expect("a valid configuration")
}

/// A filter VM at `level` with `config`, started; panics unless `on_configure` accepted it.
pub fn started(level: LogLevel, config: &str) -> Vm {
    let mut vm = Vm::new(filter(), HostState::new(level, config.as_bytes())).expect("instantiated");
    let accepted = vm.start().expect("the module starts without a trap");
    assert!(
        accepted,
        "on_configure refused {config:?}: {:?}",
        vm.state().log
    );
    vm
}

/// Asserts `got == expected` line by line: the first differing line, then both in full.
#[track_caller]
pub fn assert_lines(what: &str, got: &[String], expected: &[String]) {
    if got != expected {
        let first = (0..got.len().max(expected.len()))
            .find(|&i| got.get(i) != expected.get(i))
            .unwrap_or(0);
        panic!(
            "{what}: the module's lines differ from line {first} ({} got, {} expected)\n\
             EXPECTED line {first}: {:?}\nGOT line {first}:      {:?}\n\
             EXPECTED:\n{}\nGOT:\n{}",
            got.len(),
            expected.len(),
            expected.get(first),
            got.get(first),
            expected.join("\n"),
            got.join("\n")
        );
    }
}
