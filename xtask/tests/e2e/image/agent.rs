//! A fetch that does what Istio's agent does for a `WasmPlugin` with `url: oci://…` and
//! `sha256:`, written from its documented behaviour (istio/istio `pkg/wasm/`, as summed up in
//! istio/README.md) and sharing no code with `xtask image`: only the registry protocol
//! (oci-client) is common.
//!
//! - the image manifest's digest must equal the pinned sha256 (not the module's hash);
//! - the layouts, in the agent's order: a Docker v2 manifest whose last layer is a Docker
//!   tar+gzip; an OCI manifest whose last layer is an OCI tar+gzip ("compat"); otherwise
//!   exactly two layers, one of them the wasm content layer ("oci");
//! - in a tar layer, the first entry whose base name is `plugin.wasm`; the `\0asm` magic;
//! - the module lands in the cache (`<sha256>.wasm`) only when all of that held: written to
//!   a temporary name and renamed, so a failure leaves nothing there.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_TAR_GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const WASM_CONTENT_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

/// The agent: where it caches modules, how it reaches the registry.
pub struct Agent {
    /// The module cache (the agent's is on the proxy's disk).
    pub cache: PathBuf,
    /// The pull secret's login, if any.
    pub login: Option<(String, String)>,
    /// The registry's CA (PEM), for a TLS registry with its own CA; without it: plain HTTP,
    /// which the agent falls back to for a registry that does not speak TLS.
    pub ca: Option<PathBuf>,
}

/// Which of the agent's layouts an image is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// A Docker image: the module in its last layer.
    Docker,
    /// An OCI image whose last layer is a tar+gzip holding the module.
    Compat,
    /// Two layers, one the module itself.
    Oci,
}

impl Agent {
    /// Fetches `url` (`oci://registry/repository:tag`) pinned to `sha256` (hex) into the
    /// cache; returns the module's path there and the layout it came in.
    pub fn fetch(&self, url: &str, sha256: &str) -> Result<(PathBuf, Variant)> {
        let Some(reference) = url.strip_prefix("oci://") else {
            bail!("{url}: not an oci:// url");
        };
        let reference: Reference = reference
            .parse()
            .with_context(|| format!("{url}: not an image reference"))?;
        let mut config = ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        };
        if let Some(ca) = &self.ca {
            config.protocol = ClientProtocol::Https;
            config.extra_root_certificates = vec![Certificate {
                encoding: CertificateEncoding::Pem,
                data: std::fs::read(ca)?,
            }];
        }
        let auth = match &self.login {
            Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let client = Client::new(config);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (manifest, _) = runtime
            .block_on(client.pull_manifest_raw(&reference, &auth, &[DOCKER_MANIFEST, OCI_MANIFEST]))
            .with_context(|| format!("pulling the manifest of {url}"))?;
        let digest = hex(&Sha256::digest(&manifest));
        ensure!(
            digest == sha256,
            "{url}: the image's manifest digest is sha256:{digest}, not the pinned sha256 {sha256} \
             (sha256 pins the image manifest, not the .wasm file)"
        );
        let manifest: Value =
            serde_json::from_slice(&manifest).context("the manifest is not JSON")?;
        let (variant, layer) = choose_layer(&manifest)?;
        let mut blob = Vec::new();
        runtime
            .block_on(client.pull_blob(&reference, &layer, &mut blob))
            .with_context(|| format!("pulling the layer {} of {url}", layer.digest))?;
        ensure!(
            format!("sha256:{}", hex(&Sha256::digest(&blob))) == layer.digest,
            "{url}: the layer's bytes do not match its digest {}",
            layer.digest
        );
        let module = match variant {
            Variant::Docker | Variant::Compat => plugin_wasm_of(&blob)?,
            Variant::Oci => blob,
        };
        ensure!(
            module.starts_with(b"\0asm"),
            "{url}: the module is not wasm (no \\0asm magic)"
        );
        Ok((self.store(sha256, &module)?, variant))
    }

    /// Writes `module` as `<cache>/<sha256>.wasm`, whole or not at all.
    fn store(&self, sha256: &str, module: &[u8]) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.cache)?;
        let path = self.cache.join(format!("{sha256}.wasm"));
        let partial = self.cache.join(format!(".{sha256}.wasm.partial"));
        std::fs::write(&partial, module)?;
        std::fs::rename(&partial, &path)?;
        Ok(path)
    }
}

/// The layer holding the module, by the agent's order of layouts.
fn choose_layer(manifest: &Value) -> Result<(Variant, OciDescriptor)> {
    let layers = manifest["layers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let media_type = |layer: &Value| layer["mediaType"].as_str().unwrap_or("").to_string();
    let descriptor = |layer: &Value| -> Result<OciDescriptor> {
        Ok(OciDescriptor {
            media_type: media_type(layer),
            digest: layer["digest"]
                .as_str()
                .context("a layer without digest")?
                .to_string(),
            size: layer["size"].as_i64().context("a layer without size")?,
            ..OciDescriptor::default()
        })
    };
    let last = layers.last();
    if manifest["mediaType"] == DOCKER_MANIFEST
        && let Some(last) = last.filter(|l| media_type(l) == DOCKER_LAYER)
    {
        return Ok((Variant::Docker, descriptor(last)?));
    }
    if let Some(last) = last.filter(|l| media_type(l) == OCI_TAR_GZIP_LAYER) {
        return Ok((Variant::Compat, descriptor(last)?));
    }
    ensure!(
        layers.len() == 2,
        "number of layers must be 2 but got {}",
        layers.len()
    );
    let wasm = layers.iter().find(|l| media_type(l) == WASM_CONTENT_LAYER);
    let wasm = wasm.with_context(|| format!("no layer of type {WASM_CONTENT_LAYER}"))?;
    Ok((Variant::Oci, descriptor(wasm)?))
}

/// The first file of a tar+gzip layer whose base name is `plugin.wasm`.
fn plugin_wasm_of(layer: &[u8]) -> Result<Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    for entry in archive.entries().context("the layer is not a tar+gzip")? {
        let mut entry = entry?;
        if entry.path()?.file_name() == Some(std::ffi::OsStr::new("plugin.wasm")) {
            let mut module = Vec::new();
            entry.read_to_end(&mut module)?;
            return Ok(module);
        }
    }
    bail!("the layer holds no plugin.wasm")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The files in `dir` (none when it does not exist), for "nothing half-written" checks.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
