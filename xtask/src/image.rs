//! `cargo xtask image`: the built module as an OCI image in Istio's "compat" format, written
//! as an OCI image layout under target/oci/, and with `--push REF` pushed to a registry, with
//! the Istio manifests for it filled in under target/oci/istio/.
//!
//! The image, in memory and deterministic, and its OCI layout on disk are `build.rs`'s. The push
//! goes to the registry with `oci-client` (the OCI distribution protocol) and the login `docker
//! login` left: `DOCKER_CONFIG/config.json` or `~/.docker/config.json`, credential helpers
//! included (`docker_credential`).
//!
//! HTTPS by default; plain HTTP for a loopback registry without `--ca` (as the Docker engine
//! treats 127.0.0.0/8), or anywhere with `--scheme http`. A registry whose certificate comes
//! from its own CA is trusted with `--ca FILE` and refused, saying so, without it.
//!
//! The end-to-end tests (`tests/e2e/image.rs`) push to a real registry and read the image back
//! with skopeo, the Docker engine and a fetch that does what Istio's agent does, then run it in
//! Envoy.

pub mod build;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Error, Result, anyhow, bail, ensure};
use oci_client::RegistryOperation::Push;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError as OciErr, OciError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use build::{Image, MANIFEST_MEDIA_TYPE};

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

/// Runs the command: 0 when the image was written (and pushed); a [`Refused`] error (exit 1)
/// when the registry refused the push; other errors (exit 2) when it could not be made or the
/// registry could not be reached.
pub fn run(args: &Args) -> Result<i32> {
    let built = wasm::build()?;
    let image = Image::compat(&std::fs::read(&built.path)?)?;
    let tag = args.push.as_deref().and_then(tag_of).unwrap_or(LOCAL_TAG);
    let dir = layout_dir();
    build::write_layout(&image, tag, &dir)?;
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
    let pushed = push(&image, reference, args)?;
    let filled = oci::Image {
        url: format!("oci://{pushed}"),
        sha256: Some(image.sha256_hex().to_string()),
        pull_secret: args.pull_secret.clone(),
    };
    let written = oci::write_filled(&filled, &manifests_dir())?;
    eprintln!("The Istio manifests for this image (istio/README.md):");
    for file in written {
        eprintln!("  kubectl apply -f {}", paths::relative(&file));
    }
    println!("oci://{pushed}\nsha256: {}", image.sha256_hex());
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
    Some(reference.rsplit_once('/')?.1.split_once(':')?.1)
}

/// How to reach the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scheme {
    /// HTTPS, except plain HTTP for a loopback registry (127.0.0.0/8, ::1, localhost) when no
    /// `--ca` is given.
    #[default]
    Auto,
    /// HTTPS, even on loopback.
    Https,
    /// Plain HTTP, even to a remote registry (credentials then travel in clear).
    Http,
}

/// The registry refused the push (the login, or the permission): exit 1, unlike the failures
/// to reach it (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Pushes `image` to `target` (`registry/repository:tag`), as `args` say (`--scheme`, `--ca`),
/// and says so, with the login it used (the docker config's, or none); returns the reference as
/// parsed (`registry/repository:tag`).
pub fn push(image: &Image, target: &str, args: &Args) -> Result<String> {
    let reference: Reference = target.parse().with_context(|| {
        format!(
            "`{target}` is not an image reference: write REGISTRY/REPOSITORY:TAG, e.g. \
             127.0.0.1:5000/http-headers:dev"
        )
    })?;
    ensure!(
        reference.digest().is_none() && reference.tag().is_some(),
        "`{target}`: give a tag (REGISTRY/REPOSITORY:TAG): the push prints the digest to pin"
    );
    let registry = reference.resolve_registry().to_string();
    // Auto: plain HTTP for a loopback registry given no --ca.
    let (protocol, scheme) = match (args.scheme, args.ca.is_none() && is_loopback(&registry)) {
        (Scheme::Https, _) | (Scheme::Auto, false) => (ClientProtocol::Https, "https"),
        (Scheme::Http, _) | (Scheme::Auto, true) => (ClientProtocol::Http, "http"),
    };
    let ca = args.ca.as_deref().map(read_ca).transpose()?;
    let client = Client::new(ClientConfig {
        protocol,
        extra_root_certificates: Vec::from_iter(ca),
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(60)),
        ..ClientConfig::default()
    });
    let auth = credentials(&registry)?;
    let logged_in = auth != RegistryAuth::Anonymous;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let digest = runtime
        .block_on(async {
            client.auth(&reference, &auth, Push).await?;
            for blob in [&image.layer, &image.config] {
                client
                    .push_blob(&reference, blob.bytes.clone(), &blob.digest)
                    .await?;
            }
            let content_type = reqwest::header::HeaderValue::from_static(MANIFEST_MEDIA_TYPE);
            client
                .push_manifest_raw(&reference, image.manifest.bytes.clone(), content_type)
                .await?;
            client.fetch_manifest_digest(&reference, &auth).await
        })
        .map_err(|err| explain(err, &registry, scheme, args, logged_in))?;
    let pushed = image.digest();
    ensure!(
        digest == pushed,
        "{registry} serves {reference} with the digest {digest}, not the pushed manifest's \
         {pushed}: something between rewrote it"
    );
    let login = match logged_in {
        true => "with the docker login",
        false => "anonymously",
    };
    // The manifest the registry serves has the image's digest (checked above).
    eprintln!("✓ pushed {} {login}: {pushed}", reference.whole());
    Ok(reference.whole())
}

/// Whether the registry `host[:port]` is on this machine.
pub fn is_loopback(registry: &str) -> bool {
    // Without its port: the digits after the last `:`.
    let host = registry.trim_end_matches(|c: char| c.is_ascii_digit());
    let host = host.strip_suffix(':').unwrap_or(registry);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `--ca` file: PEM certificate(s), refused with a message when it is not PEM.
fn read_ca(path: &Path) -> Result<Certificate> {
    let shown = path.display();
    let data = std::fs::read(path)
        .with_context(|| format!("--ca {shown}: cannot read the CA certificate"))?;
    ensure!(
        data.starts_with(b"-----BEGIN"),
        "--ca {shown}: not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    );
    Ok(Certificate {
        encoding: CertificateEncoding::Pem,
        data,
    })
}

/// The login for `registry` from the docker config (anonymous when it has none).
fn credentials(registry: &str) -> Result<RegistryAuth> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential as Credential};
    // `docker login` files Docker Hub under its historical address.
    let server = match registry {
        "docker.io" | "index.docker.io" => "https://index.docker.io/v1/",
        other => other,
    };
    Ok(match docker_credential::get_credential(server) {
        Ok(Credential::UsernamePassword(user, password)) => RegistryAuth::Basic(user, password),
        Ok(Credential::IdentityToken(token)) => RegistryAuth::Bearer(token),
        Err(E::ConfigNotFound | E::ConfigReadError | E::NoCredentialConfigured) => {
            RegistryAuth::Anonymous
        }
        Err(err) => bail!(
            "reading the login for {registry} from {}: {err}",
            docker_config_file()
        ),
    })
}

/// Where the login is read from, for messages.
fn docker_config_file() -> String {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => format!("{}/config.json (DOCKER_CONFIG)", Path::new(&dir).display()),
        None => "~/.docker/config.json".to_string(),
    }
}

/// The registry client's error as what happened and what to do.
fn explain(err: OciErr, registry: &str, scheme: &str, args: &Args, logged_in: bool) -> Error {
    let config = docker_config_file();
    let login = match logged_in {
        true => format!("the login for {registry} in {config}"),
        false => format!("no login for {registry} in {config} (anonymous)"),
    };
    let denied = |e: &OciError| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied);
    let refused = match &err {
        OciErr::AuthenticationFailure(_) | OciErr::UnauthorizedError { .. } => "401 Unauthorized",
        OciErr::ServerError { code: 401, .. } => "401",
        OciErr::ServerError { code: 403, .. } => "403 Forbidden",
        OciErr::RegistryError { envelope, .. } if envelope.errors.iter().any(denied) => {
            "unauthorized"
        }
        _ => "",
    };
    if !refused.is_empty() {
        return Refused(format!(
            "{registry} refused the push ({refused}) ({login}): `docker login {registry}` with \
             an account that may push to it, then try again"
        ))
        .into();
    }
    let chain = chain(&err);
    let lower = chain.to_lowercase();
    let cause = if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("the host of {registry} is unknown (no DNS name resolves): check the reference")
    } else if lower.contains("connection refused") {
        format!("nothing answers at {scheme}://{registry}: is the registry running, on that port?")
    } else if lower.contains("certificate") || lower.contains("unknownissuer") {
        let fix = match &args.ca {
            Some(ca) => format!("the CA in --ca {} did not sign it", ca.display()),
            None => "give the registry's CA with --ca FILE".to_string(),
        };
        format!("{registry}'s TLS certificate is not trusted: {fix}")
    } else if lower.contains("http request to an https server") {
        format!("{registry} speaks HTTPS: use --scheme https (and --ca FILE for its own CA)")
    } else if lower.contains("corrupt message") {
        format!("{registry} does not speak TLS (plain HTTP?): use --scheme http")
    } else if lower.contains("timed out") {
        format!("{scheme}://{registry} did not answer in time")
    } else {
        format!("pushing to {scheme}://{registry} failed")
    };
    anyhow!("{cause}\n  (the registry client said: {chain})")
}

/// An error and its sources, joined with `: `; a source whose words are already there is left
/// out.
fn chain(err: &dyn std::error::Error) -> String {
    let errors = std::iter::successors(Some(err), |e| e.source()).map(|e| e.to_string());
    let joined = errors.reduce(|text, next| match text.contains(&next) {
        true => text,
        false => format!("{text}: {next}"),
    });
    joined.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries() {
        for yes in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "[::1]:5000",
            "127.3.2.1",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "registry.example:5000",
            "10.0.0.1:5000",
            "ghcr.io",
            "docker.io",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }

    #[test]
    fn a_reference_without_a_tag_is_refused() {
        let image = Image::compat(b"\0asm\x01\0\0\0").unwrap();
        for reference in [
            "127.0.0.1:1/x@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "Not A Ref",
        ] {
            let err = format!(
                "{:#}",
                push(&image, reference, &Args::default()).unwrap_err()
            );
            assert!(err.contains("REGISTRY/REPOSITORY:TAG"), "{err}");
        }
    }
}
