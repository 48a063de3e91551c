//! The module as an OCI image in Istio's "compat" format, built in memory and byte for byte
//! the same for the same module: the image a `FROM scratch` + `COPY plugin.wasm` recipe gives,
//! without a container engine.
//!
//! - the layer: a tar holding only `plugin.wasm` (mode 0644, uid/gid 0, mtime 0), gzip'd
//!   with a fixed level and no name or time in the gzip header;
//! - the config: an OCI image config for `linux`/`amd64` (what `FROM scratch` images say: the
//!   Docker engine refuses to pull `os: wasip1`), its rootfs naming the uncompressed tar;
//! - the manifest: one OCI image manifest (never an index), the annotation
//!   `module.wasm.image/variant: compat`.
//!
//! The manifest's digest is what Istio's `WasmPlugin.sha256` pins (not the module's hash).
//!
//! The image is written as an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`),
//! the directory `skopeo copy oci:DIR:TAG …` and other OCI tools read ([`write_layout`]).
//! The layout is written whole into a sibling directory, then put in place by renames: a
//! failure leaves the previous layout as it was and nothing half-written.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result};
use flate2::{Compression, GzBuilder};
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, Os, RootFsBuilder,
};
use sha2::{Digest as _, Sha256};

/// The file name Istio's agent looks for in the layer (by base name).
pub const PLUGIN_FILE: &str = "plugin.wasm";
/// The annotation that says which of the wasm image variants this is.
pub const VARIANT_ANNOTATION: &str = "module.wasm.image/variant";
/// The variant: a container image whose last layer holds `plugin.wasm`.
pub const VARIANT: &str = "compat";
/// The manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config's media type.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The layer's media type: the one the agent's "compat" path takes.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A blob of the image: its bytes and their `sha256:<hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The bytes, as stored and served.
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Blob {
        Blob {
            digest: sha256(&bytes),
            bytes,
        }
    }

    /// The blob's size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub(super) fn descriptor(&self, media_type: MediaType) -> Result<Descriptor> {
        Ok(DescriptorBuilder::default()
            .media_type(media_type)
            .digest(Digest::from_str(&self.digest)?)
            .size(self.size())
            .build()?)
    }
}

/// The image: a manifest naming a config and one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The image manifest (JSON). Its digest is the image's.
    pub manifest: Blob,
    /// The OCI image config (JSON).
    pub config: Blob,
    /// The tar+gzip layer holding `plugin.wasm`.
    pub layer: Blob,
}

impl Image {
    /// The compat image of `module` (the wasm file's bytes).
    pub fn compat(module: &[u8]) -> Result<Image> {
        let tar = layer_tar(module).context("writing the layer's tar")?;
        let layer = Blob::new(gzip(&tar).context("compressing the layer")?);
        let rootfs = RootFsBuilder::default()
            .typ("layers")
            .diff_ids(vec![sha256(&tar)]);
        let config = ImageConfigurationBuilder::default()
            .architecture(Arch::Amd64)
            .os(Os::Linux)
            .config(ConfigBuilder::default().build()?)
            .rootfs(rootfs.build()?)
            .build()?;
        let config = Blob::new(serde_json::to_vec(&config)?);
        // One annotation: the map's order cannot vary.
        let annotations = HashMap::from([(VARIANT_ANNOTATION.to_string(), VARIANT.to_string())]);
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config.descriptor(MediaType::ImageConfig)?)
            .layers(vec![layer.descriptor(MediaType::ImageLayerGzip)?])
            .annotations(annotations)
            .build()?;
        Ok(Image {
            manifest: Blob::new(serde_json::to_vec(&manifest)?),
            config,
            layer,
        })
    }

    /// The image's digest: the manifest's, `sha256:<hex>`.
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }

    /// The digest's hex alone: what `WasmPlugin.sha256` takes.
    pub fn sha256_hex(&self) -> &str {
        self.digest().trim_start_matches("sha256:")
    }

    /// The bytes a registry stores for the image: manifest, config and layer.
    pub fn size(&self) -> u64 {
        self.manifest.size() + self.config.size() + self.layer.size()
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A tar with one regular file, [`PLUGIN_FILE`], and nothing that depends on the machine.
fn layer_tar(module: &[u8]) -> Result<Vec<u8>> {
    let mut header = tar::Header::new_ustar();
    header.set_size(module.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_data(&mut header, PLUGIN_FILE, module)?; // sets the path and the checksum
    Ok(tar.into_inner()?)
}

/// `bytes` gzip'd at the best level, the header without file name or time.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// Writes `image` tagged `tag` as the OCI layout `dir`, replacing what was there.
pub fn write_layout(image: &Image, tag: &str, dir: &Path) -> Result<()> {
    // Per process: two pushes at once each write their own.
    let fresh = dir.with_extension(format!("new-{}", std::process::id()));
    let old = dir.with_extension(format!("old-{}", std::process::id()));
    remove(&fresh)?;
    remove(&old)?;
    if let Err(err) = write_fresh(image, tag, &fresh) {
        remove(&fresh)?;
        return Err(err.context(format!("writing the OCI layout {}", fresh.display())));
    }
    if dir.exists() {
        std::fs::rename(dir, &old).with_context(|| format!("moving {} aside", dir.display()))?;
    }
    std::fs::rename(&fresh, dir).with_context(|| format!("putting {} in place", dir.display()))?;
    remove(&old)
}

/// The annotation an OCI layout's index names an image's tag with.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn write_fresh(image: &Image, tag: &str, dir: &Path) -> Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    for blob in [&image.layer, &image.config, &image.manifest] {
        let hex = blob.digest.trim_start_matches("sha256:");
        std::fs::write(blobs.join(hex), &blob.bytes)?;
    }
    let mut manifest = image.manifest.descriptor(MediaType::ImageManifest)?;
    manifest.set_annotations(Some(HashMap::from([(REF_NAME.into(), tag.into())])));
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest])
        .build()?;
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    // The layout's marker, as the OCI image layout specification writes it.
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(())
}

fn remove(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const MODULE: &[u8] = b"\0asm\x01\0\0\0 a module";

    #[test]
    fn the_same_module_gives_the_same_image() {
        let one = Image::compat(MODULE).unwrap();
        assert_eq!(one, Image::compat(MODULE).unwrap());
        assert_ne!(
            one.digest(),
            Image::compat(b"\0asm\x01\0\0\0 other").unwrap().digest()
        );
        assert_eq!(one.digest(), sha256(&one.manifest.bytes));
        assert_eq!(one.sha256_hex().len(), 64);
    }

    #[test]
    fn the_layer_holds_only_plugin_wasm() {
        let image = Image::compat(MODULE).unwrap();
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&image.layer.bytes[..])
            .read_to_end(&mut tar)
            .unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some(PLUGIN_FILE));
        let header = entry.header();
        assert_eq!((header.mode().unwrap(), header.uid().unwrap()), (0o644, 0));
        assert_eq!((header.gid().unwrap(), header.mtime().unwrap()), (0, 0));
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, MODULE);
        assert!(entries.next().is_none());
    }

    #[test]
    fn the_manifest_is_a_compat_image_manifest() {
        let image = Image::compat(MODULE).unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&image.manifest.bytes).unwrap();
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
        assert_eq!(manifest["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        assert_eq!(manifest["config"]["digest"], image.config.digest.as_str());
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0]["mediaType"], LAYER_MEDIA_TYPE);
        assert_eq!(layers[0]["digest"], image.layer.digest.as_str());
        assert_eq!(layers[0]["size"], image.layer.size());
        assert_eq!(manifest["annotations"][VARIANT_ANNOTATION], VARIANT);
        let config: serde_json::Value = serde_json::from_slice(&image.config.bytes).unwrap();
        assert_eq!(
            (config["os"].as_str(), config["architecture"].as_str()),
            (Some("linux"), Some("amd64"))
        );
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
        assert!(
            config.get("created").is_none(),
            "no time in the config: {config}"
        );
    }

    #[test]
    fn writes_a_layout_and_replaces_it_whole() {
        let dir = crate::paths::work_dir("test-image-layout").join("layout");
        let first = Image::compat(b"\0asm\x01\0\0\0 one").unwrap();
        write_layout(&first, "dev", &dir).unwrap();
        let second = Image::compat(b"\0asm\x01\0\0\0 two").unwrap();
        write_layout(&second, "dev", &dir).unwrap();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        assert_eq!(index["manifests"][0]["digest"], second.digest());
        assert_eq!(index["manifests"][0]["annotations"][REF_NAME], "dev");
        let mut blobs: Vec<_> = std::fs::read_dir(dir.join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        blobs.sort();
        let mut expected: Vec<_> = [&second.manifest, &second.config, &second.layer]
            .iter()
            .map(|b| b.digest.trim_start_matches("sha256:").to_string())
            .collect();
        expected.sort();
        assert_eq!(blobs, expected, "only the new image's blobs");
        let names: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["layout"], "nothing but the layout beside it");
        assert_eq!(
            std::fs::read(dir.join("blobs/sha256").join(second.sha256_hex())).unwrap(),
            second.manifest.bytes
        );
    }
}
