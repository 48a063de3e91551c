//! The Istio manifests for the module shipped as an OCI image (`cargo xtask image --push`):
//! a sidecar `WasmPlugin` (`wasmplugin-oci.yaml`) and the ambient set (`ambient.yaml`: the
//! namespace's labels, the waypoint `Gateway`, a `WasmPlugin` with `targetRefs`).
//!
//! istio/ holds them with a placeholder url and no sha256 (`cargo xtask istio` renders them,
//! `--check` keeps them honest); the push writes copies filled with the pushed image.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::source::{NAMESPACE, Plugin};
use super::template::{Files, fill, shared_values};
use super::yaml;

/// The file names, under istio/ and under the push's directory.
pub const FILES: [&str; 2] = ["wasmplugin-oci.yaml", "ambient.yaml"];
/// The waypoint's name: the one `istioctl waypoint apply` gives.
pub const WAYPOINT: &str = "waypoint";
/// The url istio/ shows until a push fills it.
pub const PLACEHOLDER_URL: &str = "oci://REGISTRY/REPOSITORY:TAG";

/// The image the manifests name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    /// `oci://registry/repository:tag`.
    pub url: String,
    /// The image manifest's digest, hex (`None`: not pinned, istio/'s placeholder).
    pub sha256: Option<String>,
    /// The WasmPlugin's `imagePullSecret`, if any.
    pub pull_secret: Option<String>,
}

/// The two manifests for `image`, keyed by file name; `header` heads each.
pub fn render(plugin: &Plugin, image: &Image, header: &str) -> Result<Files> {
    let mut values = shared_values(plugin, header)?;
    values.extend([
        ("namespace", yaml::scalar(NAMESPACE)?),
        ("waypoint", yaml::scalar(WAYPOINT)?),
        ("oci_url", yaml::scalar(&image.url)?),
        ("sha256", yaml::optional(image.sha256.as_deref())?),
        // The digest pins the image: a pull would only fetch the same bytes again.
        ("pull_policy", "IfNotPresent".to_string()),
        ("pull_secret", yaml::optional(image.pull_secret.as_deref())?),
    ]);
    let templates = [
        include_str!("templates/wasmplugin-oci.yaml"),
        include_str!("templates/ambient.yaml"),
    ];
    let files = FILES.into_iter().zip(templates);
    files
        .map(|(file, template)| Ok((file, fill(template, &values)?)))
        .collect()
}

/// The header of the copies a push writes.
const FILLED_HEADER: &str = "\
# Written by `cargo xtask image --push` for the image it pushed, from istio/'s template of the
# same name (rendered from envoy.yaml). Apply it with `kubectl apply -f`; push again to
# write it again.
";

/// Writes the manifests for `image` (from the repository's envoy.yaml) into `dir`; returns
/// the files written.
pub fn write_filled(image: &Image, dir: &Path) -> Result<Vec<PathBuf>> {
    let plugin = Plugin::read(&crate::paths::envoy_yaml())?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (file, text) in render(&plugin, image, FILLED_HEADER)? {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::source::APP;
    use crate::paths;
    use envoy_model::bootstrap;
    use serde_json::Value;

    fn plugin() -> Plugin {
        let doc = bootstrap::load(&paths::envoy_yaml()).unwrap();
        Plugin::from_bootstrap(&doc, "envoy.yaml").unwrap()
    }

    fn docs(text: &str) -> Vec<Value> {
        serde_saphyr::from_multiple(text).unwrap()
    }

    #[test]
    fn a_pushed_image_fills_url_digest_and_secret() {
        let image = Image {
            url: "oci://127.0.0.1:5000/http-headers:dev".into(),
            sha256: Some("ab".repeat(32)),
            pull_secret: Some("registry-login".into()),
        };
        let files = render(&plugin(), &image, "# h\n").unwrap();
        let sidecar = &docs(&files["wasmplugin-oci.yaml"])[0];
        assert_eq!(sidecar["spec"]["url"], image.url.as_str());
        assert_eq!(sidecar["spec"]["sha256"], "ab".repeat(32).as_str());
        assert_eq!(sidecar["spec"]["imagePullSecret"], "registry-login");
        assert_eq!(sidecar["spec"]["selector"]["matchLabels"]["app"], APP);
        let ambient = docs(&files["ambient.yaml"]);
        let kinds: Vec<_> = ambient
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["Namespace", "Gateway", "WasmPlugin"]);
        assert_eq!(
            ambient[0]["metadata"]["labels"]["istio.io/use-waypoint"],
            WAYPOINT
        );
        assert_eq!(ambient[1]["spec"]["gatewayClassName"], "istio-waypoint");
        let target = &ambient[2]["spec"]["targetRefs"][0];
        assert_eq!(
            (target["kind"].as_str(), target["name"].as_str()),
            (Some("Gateway"), Some(WAYPOINT))
        );
        assert!(ambient[2]["spec"].get("selector").is_none());
        assert_eq!(
            ambient[2]["spec"]["pluginConfig"],
            sidecar["spec"]["pluginConfig"]
        );
    }

    #[test]
    fn the_placeholder_has_no_digest_and_no_secret() {
        let files = crate::manifests::render::render(&plugin()).unwrap();
        for file in FILES {
            for doc in docs(&files[file]) {
                if doc["kind"] == "WasmPlugin" {
                    assert_eq!(doc["spec"]["url"], PLACEHOLDER_URL, "{file}");
                    assert!(doc["spec"].get("sha256").is_none(), "{file}");
                    assert!(doc["spec"].get("imagePullSecret").is_none(), "{file}");
                }
            }
        }
    }
}
