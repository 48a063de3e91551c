//! What every manifest template shares: the rendered files' map, the header, the holes all of
//! istio/'s and the OCI image's manifests have, and the filling of a template's `${name}`
//! holes (a hole alone on its line whose value is empty drops the line: an optional field).

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::Value;

use super::source::{APP, Plugin};
use super::yaml;

/// Rendered manifests, keyed by file name.
pub type Files = BTreeMap<&'static str, String>;

/// The first lines of every manifest.
pub const HEADER: &str = "\
# Rendered by `cargo xtask istio` from envoy.yaml: do not edit. Change envoy.yaml (the one
# plugin configuration) and run `cargo xtask istio`; `cargo xtask istio --check` and the tests
# fail while this file differs from the rendering.
";

/// The holes every manifest of istio/ and of the OCI image may have: `header` heads each.
pub fn shared_values(plugin: &Plugin, header: &str) -> Result<Vec<(&'static str, String)>> {
    let plugin_config = Value::Object(plugin.config_object.clone().unwrap_or_default());
    Ok(vec![
        ("header", header.to_string()),
        ("name", yaml::scalar(&plugin.filter.name)?),
        ("app", yaml::scalar(APP)?),
        ("root_id", yaml::scalar(&plugin.filter.root_id)?),
        ("fail_strategy", plugin.fail_strategy()?.to_string()),
        ("plugin_config", yaml::mapping(&plugin_config, 4)?),
    ])
}

/// Replaces every `${key}` of `template` by its value in one pass; a line that is only a hole
/// (after its key) whose value is empty is dropped. Fails on a hole without a value.
pub fn fill(template: &str, values: &[(&str, String)]) -> Result<String> {
    let fill_line = |line: &str| -> Result<String> {
        let mut rendered = String::new();
        let mut rest = line;
        let mut filled_empty = false;
        while let Some((before, hole)) = rest.split_once("${") {
            let Some((key, after)) = hole.split_once('}') else {
                bail!("an unclosed hole in a template line: {line}");
            };
            let Some((_, value)) = values.iter().find(|(k, _)| *k == key) else {
                bail!("the template hole ${{{key}}} has no value");
            };
            rendered.extend([before, value.as_str()]);
            filled_empty |= value.is_empty();
            rest = after;
        }
        rendered.push_str(rest);
        let dropped = filled_empty && rendered.trim_end().ends_with(':');
        Ok(if dropped { String::new() } else { rendered })
    };
    template.split_inclusive('\n').map(fill_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_once_and_drops_empty_optional_lines() {
        let out = fill(
            "a: ${x}\nb: ${y}\nc: ${x}${x}\n",
            &[("x", "${y}".into()), ("y", String::new())],
        )
        .unwrap();
        assert_eq!(out, "a: ${y}\nc: ${y}${y}\n");
        assert!(fill("a: ${z}\n", &[]).is_err());
    }
}
