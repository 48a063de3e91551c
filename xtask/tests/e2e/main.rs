//! The end-to-end tests: one binary, one module per subject. They run the real Envoy
//! 1.40.0 and the real httpbin from ./.venv (`cargo xtask setup`) and fail, saying how
//! to install them, when those are missing.

mod compose;
mod faults;
mod hostile;
mod image;
mod istio;
mod load;
mod native_loop;
mod util;
mod versions;
