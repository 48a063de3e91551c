//! Pushing the image to a registry with `oci-client` (the OCI distribution protocol) and the
//! login `docker login` left: `DOCKER_CONFIG/config.json` or `~/.docker/config.json`, credential
//! helpers included (`docker_credential`).
//!
//! HTTPS by default; plain HTTP for a loopback registry without `--ca` (as the Docker engine
//! treats 127.0.0.0/8), or anywhere with `--scheme http`. A registry whose certificate comes
//! from its own CA is trusted with `--ca FILE` and refused, saying so, without it.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError as OciErr, OciError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::Args;
use super::build::{Image, MANIFEST_MEDIA_TYPE};

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

/// What the push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The reference as parsed (`registry/repository:tag`).
    pub reference: String,
    /// Whether the login came from the docker config (false: anonymous).
    pub logged_in: bool,
}

/// The registry refused the push (the login, or the permission): exit 1, unlike the failures
/// to reach it (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Pushes `image` to `target` (`registry/repository:tag`), as `args` say (`--scheme`, `--ca`).
pub fn push(image: &Image, target: &str, args: &Args) -> Result<Pushed> {
    let reference: Reference = target.parse().with_context(|| {
        format!(
            "`{target}` is not an image reference: write REGISTRY/REPOSITORY:TAG, e.g. \
             127.0.0.1:5000/http-headers:dev"
        )
    })?;
    if reference.digest().is_some() || reference.tag().is_none() {
        bail!(
            "`{target}`: give a tag (REGISTRY/REPOSITORY:TAG): the push prints the digest to pin"
        );
    }
    let registry = reference.resolve_registry().to_string();
    let https = match args.scheme {
        Scheme::Https => true,
        Scheme::Http => false,
        Scheme::Auto => args.ca.is_some() || !is_loopback(&registry),
    };
    let mut config = ClientConfig {
        protocol: if https {
            ClientProtocol::Https
        } else {
            ClientProtocol::Http
        },
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(60)),
        ..ClientConfig::default()
    };
    if let Some(ca) = &args.ca {
        config.extra_root_certificates = vec![read_ca(ca)?];
    }
    let auth = credentials(&registry)?;
    let logged_in = auth != RegistryAuth::Anonymous;
    let scheme = if https { "https" } else { "http" };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let client = Client::new(config);
    let digest = runtime
        .block_on(async {
            client
                .auth(&reference, &auth, RegistryOperation::Push)
                .await?;
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
    if digest != image.digest() {
        bail!(
            "{registry} serves {reference} with the digest {digest}, not the pushed manifest's \
             {}: something between rewrote it",
            image.digest()
        );
    }
    Ok(Pushed {
        reference: reference.whole(),
        logged_in,
    })
}

/// Whether the registry `host[:port]` is on this machine.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
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
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    // `docker login` files Docker Hub under its historical address.
    let server = match registry {
        "docker.io" | "index.docker.io" => "https://index.docker.io/v1/",
        other => other,
    };
    match docker_credential::get_credential(server) {
        Ok(DockerCredential::UsernamePassword(user, password)) => {
            Ok(RegistryAuth::Basic(user, password))
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(RegistryAuth::Bearer(token)),
        Err(E::ConfigNotFound | E::ConfigReadError | E::NoCredentialConfigured) => {
            Ok(RegistryAuth::Anonymous)
        }
        Err(err) => bail!(
            "reading the login for {registry} from {}: {err}",
            docker_config_file()
        ),
    }
}

/// Where the login is read from, for messages.
fn docker_config_file() -> String {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => format!("{}/config.json (DOCKER_CONFIG)", Path::new(&dir).display()),
        None => "~/.docker/config.json".to_string(),
    }
}

/// The registry client's error as what happened and what to do.
fn explain(
    err: OciErr,
    registry: &str,
    scheme: &str,
    args: &Args,
    logged_in: bool,
) -> anyhow::Error {
    let login = if logged_in {
        format!("the login for {registry} in {}", docker_config_file())
    } else {
        format!(
            "no login for {registry} in {} (anonymous)",
            docker_config_file()
        )
    };
    let chain = chain(&err);
    let refused = |what: &str| -> anyhow::Error {
        Refused(format!(
            "{registry} refused the push {what} ({login}): `docker login {registry}` with an \
             account that may push to it, then try again"
        ))
        .into()
    };
    let denied = |e: &OciError| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied);
    match &err {
        OciErr::AuthenticationFailure(_) | OciErr::UnauthorizedError { .. } => {
            return refused("(401 Unauthorized)");
        }
        OciErr::ServerError { code: 401, .. } => return refused("(401)"),
        OciErr::ServerError { code: 403, .. } => return refused("(403 Forbidden)"),
        OciErr::RegistryError { envelope, .. } if envelope.errors.iter().any(denied) => {
            return refused("(unauthorized)");
        }
        _ => {}
    }
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
    anyhow::anyhow!("{cause}\n  (the registry client said: {chain})")
}

/// An error and its sources, joined.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let next = inner.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = inner.source();
    }
    text
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
