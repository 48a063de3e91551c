//! Istio's manifests, rendered from envoy.yaml's wasm filter: what the `istio` command
//! writes to istio/ and the `image` command fills in with a pushed image's digest.
//!
//! The pieces: `source.rs` (what is read from envoy.yaml), `render.rs`, `template.rs` and
//! `yaml.rs` (the manifests, from `templates/`), `oci.rs` (the manifests for the module as an
//! OCI image).

pub mod oci;
pub mod render;
pub mod source;
pub mod template;
pub mod yaml;
