//! Benchmark baseline, never shipped: the filter's behaviour written the simplest way, as
//! the proxy-wasm SDK's own `http_headers` example does it. It sets `test: best`, adds
//! `x-wasm-header: demo-wasm`, and logs the same lines as the filter (`request header -->
//! name: value` for every request header, `response header <-- name: value` for every
//! response header, `<id> finished`) through the SDK's `String` getters, `format!`-style
//! arguments and the `log` crate, at whatever level Envoy runs.
//!
//! `cargo xtask bench` compares the filter's CPU per request against this one. Like the SDK
//! example it panics on a non-UTF-8 header value (the getters unwrap): fine for a
//! benchmark, which sends plain ASCII; that is one reason the filter is not written so.
//!
//! Built by `cargo xtask bench` with
//! `cargo build --release --target wasm32-wasip1 -p filter --example bench_naive`.

#[cfg(target_arch = "wasm32")]
mod naive {
    use log::info;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Trace);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(NaiveRoot) });
    }}

    /// Ignores its plugin configuration: the headers are the ones envoy.yaml configures.
    struct NaiveRoot;

    impl Context for NaiveRoot {}

    impl RootContext for NaiveRoot {
        fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
            true
        }

        fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Naive { context_id }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    /// One stream.
    struct Naive {
        context_id: u32,
    }

    impl Context for Naive {}

    impl HttpContext for Naive {
        fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
            self.set_http_request_header("test", Some("best"));
            for (name, value) in &self.get_http_request_headers() {
                info!("request header --> {name}: {value}");
            }
            Action::Continue
        }

        fn on_http_response_headers(
            &mut self,
            _num_headers: usize,
            _end_of_stream: bool,
        ) -> Action {
            self.add_http_response_header("x-wasm-header", "demo-wasm");
            for (name, value) in &self.get_http_response_headers() {
                info!("response header <-- {name}: {value}");
            }
            Action::Continue
        }

        fn on_log(&mut self) {
            info!("{} finished", self.context_id);
        }
    }
}
