//! The image written as an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`),
//! the directory `skopeo copy oci:DIR:TAG …` and other OCI tools read.
//!
//! The layout is written whole into a sibling directory, then put in place by renames: a
//! failure leaves the previous layout as it was and nothing half-written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use oci_spec::image::{ImageIndexBuilder, MediaType, OciLayoutBuilder};

use super::build::{Blob, Image};

/// The annotation an OCI layout's index names an image's tag with.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Writes `image` tagged `tag` as the OCI layout `dir`, replacing what was there.
pub fn write(image: &Image, tag: &str, dir: &Path) -> Result<()> {
    let parent = dir
        .parent()
        .context("the layout's directory has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    // Per process: two pushes at once each write their own.
    let fresh = sibling(dir, &format!("new-{}", std::process::id()));
    let old = sibling(dir, &format!("old-{}", std::process::id()));
    for leftover in [&fresh, &old] {
        remove(leftover)?;
    }
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

fn write_fresh(image: &Image, tag: &str, dir: &Path) -> Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    for blob in [&image.layer, &image.config, &image.manifest] {
        std::fs::write(blob_path(dir, blob), &blob.bytes)?;
    }
    let mut manifest = image.manifest.descriptor(MediaType::ImageManifest)?;
    manifest.set_annotations(Some(HashMap::from([(REF_NAME.into(), tag.into())])));
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest])
        .build()?;
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    let layout = OciLayoutBuilder::default()
        .image_layout_version("1.0.0")
        .build()?;
    std::fs::write(dir.join("oci-layout"), serde_json::to_vec(&layout)?)?;
    Ok(())
}

/// Where a layout keeps `blob`.
pub fn blob_path(dir: &Path, blob: &Blob) -> PathBuf {
    dir.join("blobs/sha256")
        .join(blob.digest.trim_start_matches("sha256:"))
}

/// `<dir>.<what>`, next to `dir`.
fn sibling(dir: &Path, what: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{what}"));
    dir.with_file_name(name)
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

    #[test]
    fn writes_a_layout_and_replaces_it_whole() {
        let dir = crate::paths::work_dir("test-image-layout").join("layout");
        let first = Image::compat(b"\0asm\x01\0\0\0 one").unwrap();
        write(&first, "dev", &dir).unwrap();
        let second = Image::compat(b"\0asm\x01\0\0\0 two").unwrap();
        write(&second, "dev", &dir).unwrap();
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
            std::fs::read(blob_path(&dir, &second.manifest)).unwrap(),
            second.manifest.bytes
        );
    }
}
