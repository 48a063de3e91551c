//! `cargo xtask image`: the built module as an OCI image in Istio's "compat" format, written
//! as an OCI image layout under target/oci/, and with `--push REF` pushed to a registry, with
//! the Istio manifests for it filled in under target/oci/istio/.
//!
//! The pieces: `build.rs` (the image, in memory, deterministic), `layout.rs` (the OCI layout
//! on disk), `push.rs` (the registry). The end-to-end tests (`tests/e2e/image.rs`) push to a
//! real registry and read the image back with skopeo, the Docker engine and a fetch that does
//! what Istio's agent does, then run it in Envoy.

pub mod build;
pub mod layout;
pub mod push;

use std::path::PathBuf;

use anyhow::Result;

pub use build::Image;
pub use push::{Refused, Scheme};

use crate::manifests::oci;
use crate::{paths, wasm};

/// The tag of the local layout when nothing is pushed.
pub const LOCAL_TAG: &str = "dev";

/// The command's options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Push the image to REGISTRY/REPOSITORY:TAG, e.g. 127.0.0.1:5000/http-headers:dev, with the
    /// login of `docker login` (DOCKER_CONFIG or ~/.docker/config.json, credential helpers too).
    #[arg(long, value_name = "REF")]
    pub push: Option<String>,
    /// How to reach the registry: HTTPS, except plain HTTP for a loopback one (auto).
    #[arg(long, value_enum, default_value_t)]
    pub scheme: Scheme,
    /// The CA certificate (PEM) that signed the registry's certificate, for a registry with its
    /// own CA (implies HTTPS).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The `kubernetes.io/dockerconfigjson` Secret the Istio agent pulls with (the
    /// WasmPlugin's imagePullSecret), for a private registry.
    #[arg(long, value_name = "SECRET")]
    pub pull_secret: Option<String>,
}

/// Runs the command: 0 when the image was written (and pushed); 1 when the registry refused
/// the push; errors (exit 2) when it could not be made or the registry could not be reached.
pub fn run(args: &Args) -> Result<i32> {
    let built = wasm::build()?;
    let module = std::fs::read(&built.path)?;
    let image = Image::compat(&module)?;
    let tag = args.push.as_deref().and_then(tag_of).unwrap_or(LOCAL_TAG);
    let dir = layout_dir();
    layout::write(&image, tag, &dir)?;
    eprintln!(
        "✓ {}: an OCI image layout, tag {tag}, manifest {} ({} bytes: layer {}, config {}, \
         manifest {}), module {} ({} bytes)",
        paths::relative(&dir),
        image.digest(),
        image.size(),
        image.layer.size(),
        image.config.size(),
        image.manifest.size(),
        paths::relative(&built.path),
        built.bytes,
    );
    let Some(reference) = &args.push else {
        println!("{}", image.digest());
        return Ok(0);
    };
    let pushed = match push::push(&image, reference, args) {
        Ok(pushed) => pushed,
        Err(err) if err.is::<Refused>() => {
            eprintln!("error: {err:#}");
            return Ok(1);
        }
        Err(err) => return Err(err),
    };
    let login = if pushed.logged_in {
        "with the docker login"
    } else {
        "anonymously"
    };
    // The push checked that the registry serves the manifest with the image's digest.
    eprintln!("✓ pushed {} {login}: {}", pushed.reference, image.digest());
    let written = oci::write_filled(
        &oci::Image {
            url: format!("oci://{}", pushed.reference),
            sha256: Some(image.sha256_hex().to_string()),
            pull_secret: args.pull_secret.clone(),
        },
        &manifests_dir(),
    )?;
    eprintln!("The Istio manifests for this image (istio/README.md):");
    for file in written {
        eprintln!("  kubectl apply -f {}", paths::relative(&file));
    }
    println!("oci://{}", pushed.reference);
    println!("sha256: {}", image.sha256_hex());
    Ok(0)
}

/// The OCI image layout `cargo xtask image` writes.
pub fn layout_dir() -> PathBuf {
    paths::target_dir().join("oci/layout")
}

/// Where `--push` writes the Istio manifests filled with the pushed image.
pub fn manifests_dir() -> PathBuf {
    paths::target_dir().join("oci/istio")
}

/// The tag of `registry/repository:tag` (not a port).
fn tag_of(reference: &str) -> Option<&str> {
    let (_, last) = reference.rsplit_once('/')?;
    last.split_once(':').map(|(_, tag)| tag)
}
