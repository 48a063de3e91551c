//! The modules the tests and the cost program run: the filter and the benchmark's two
//! baselines, as built and handed in by `cargo xtask` (`filter_testing::handed_in`), compiled.

use anyhow::{Context, Result, anyhow};
use filter_testing::variants::{Module, Modules};

use crate::vm::Wasm;

/// The built modules, compiled once.
pub struct Compiled(Vec<(Module, Wasm)>);

impl Compiled {
    /// Compiles the filter and the two baselines of `built`.
    pub fn load(built: &Modules) -> Result<Compiled> {
        let mut modules = Vec::new();
        for module in [Module::Filter, Module::Empty, Module::Naive] {
            let Some(path) = built.path(module) else {
                continue;
            };
            let wasm = Wasm::load(path)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("loading {} (built by `{}`)", path.display(), Modules::BUILD)
                })?;
            modules.push((module, wasm));
        }
        Ok(Compiled(modules))
    }

    /// The compiled `module`; an error for [`Module::None`], which has none.
    pub fn get(&self, module: Module) -> Result<&Wasm> {
        let found = self.0.iter().find(|(m, _)| *m == module);
        found
            .map(|(_, wasm)| wasm)
            .ok_or_else(|| anyhow!("no compiled module for {module:?}"))
    }
}
