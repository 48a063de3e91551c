//! Benchmark baseline, never shipped: a proxy-wasm HTTP filter that does nothing, so that
//! `cargo xtask bench` can measure the floor any wasm filter pays (the VM, the context
//! create and delete calls, the callbacks crossing into wasm).
//!
//! Built by `cargo xtask bench` with
//! `cargo build --release --target wasm32-wasip1 -p filter --example bench_empty`.

#[cfg(target_arch = "wasm32")]
mod empty {
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::ContextType;

    proxy_wasm::main! {{
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(EmptyRoot) });
    }}

    /// Ignores its plugin configuration and creates an [`Empty`] per stream.
    struct EmptyRoot;

    impl Context for EmptyRoot {}

    impl RootContext for EmptyRoot {
        fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
            true
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Empty))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    /// One stream: every callback is the SDK's default (continue, do nothing).
    struct Empty;

    impl Context for Empty {}

    impl HttpContext for Empty {}
}
