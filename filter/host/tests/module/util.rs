//! Helpers of the module's tests: the built modules and envoy.yaml's plugin configuration, as
//! `cargo xtask test` hands them in (it builds the modules first, so a test never loads a
//! stale one), and a started VM.

use std::sync::OnceLock;

use filter_host::{Compiled, HostState, LogLevel, LogLine, Stream, Vm, Wasm};
use filter_testing::handed_in::HandedIn;
use filter_testing::variants::Module;

/// What `cargo xtask test` hands in; panics with the command to run when it is missing.
pub fn handed_in() -> &'static HandedIn {
    static HANDED_IN: OnceLock<HandedIn> = OnceLock::new();
    HANDED_IN.get_or_init(|| HandedIn::from_env().unwrap_or_else(|err| panic!("{err}")))
}

/// The filter and the benchmark's baselines, compiled once per test process.
pub fn modules() -> &'static Compiled {
    static MODULES: OnceLock<Compiled> = OnceLock::new();
    MODULES.get_or_init(|| {
        let clock = std::time::Instant::now();
        let modules =
            Compiled::load(&handed_in().modules()).unwrap_or_else(|err| panic!("{err:#}"));
        eprintln!(
            "compiled the 3 modules in {:.2} s",
            clock.elapsed().as_secs_f64()
        );
        modules
    })
}

/// The filter, as Envoy loads it: target/wasm32-wasip1/release/filter.wasm.
pub fn filter() -> &'static Wasm {
    modules().get(Module::Filter).expect("the filter is loaded")
}

/// The plugin configuration in envoy.yaml, as Envoy hands it to the filter.
pub fn envoy_yaml_config() -> String {
    handed_in().plugin_config.clone()
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

/// What the tests read of a [`Stream`].
pub trait StreamExt {
    /// The messages of its `proxy_log` calls at `level`, as text.
    fn lines_at(&self, level: LogLevel) -> Vec<String>;
    /// The number of its calls to `import`.
    fn calls_to(&self, import: &str) -> u64;
}

impl StreamExt for Stream {
    fn lines_at(&self, level: LogLevel) -> Vec<String> {
        self.log
            .iter()
            .filter(|line| line.level == Some(level))
            .map(LogLine::text)
            .collect()
    }

    fn calls_to(&self, import: &str) -> u64 {
        self.calls.get(import).copied().unwrap_or(0)
    }
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
