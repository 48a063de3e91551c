//! A real registry for the tests: Debian's `docker-registry` (CNCF Distribution) on a free
//! loopback port, anonymous, with htpasswd basic auth, or over TLS with a certificate from a
//! CA made for the test (openssl). The guard stops it and removes its storage.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use xtask::procs::{Service, log_end};
use xtask::{paths, ports};

/// How the registry is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Anyone may push and pull.
    Anonymous,
    /// htpasswd basic auth: [`USER`] with [`PASSWORD`].
    Htpasswd,
    /// HTTPS with a certificate signed by the test's CA ([`Registry::ca`]).
    Tls,
}

/// The htpasswd registry's account.
pub const USER: &str = "wasm-pusher";
/// Its password.
pub const PASSWORD: &str = "s3cret-for-the-test";

/// A running registry, stopped (and its storage removed) when dropped.
pub struct Registry {
    service: Service,
    /// `127.0.0.1:<port>`.
    pub addr: SocketAddr,
    dir: PathBuf,
    /// The CA certificate (PEM) that signed a TLS registry's certificate.
    pub ca: Option<PathBuf>,
}

impl Registry {
    /// Starts a registry in `target/xtask/test-<name>/`; panics, saying how to install it,
    /// when `docker-registry` is missing.
    pub fn start(name: &str, mode: Mode) -> Registry {
        let program = which("docker-registry", "docker-registry");
        let dir = paths::work_dir(&format!("test-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let addr = ports::loopback(ports::free().unwrap());
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {addr}\n",
            dir.join("storage").display()
        );
        let mut ca = None;
        match mode {
            Mode::Anonymous => {}
            Mode::Htpasswd => {
                let htpasswd = which("htpasswd", "apache2-utils");
                let out = Command::new(htpasswd)
                    .args(["-Bbn", USER, PASSWORD])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "htpasswd -Bbn failed: {out:?}");
                std::fs::write(dir.join("htpasswd"), &out.stdout).unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: test-registry\n    path: {}\n",
                    dir.join("htpasswd").display()
                ));
            }
            Mode::Tls => {
                let tls = make_certificates(&dir);
                config.push_str(&format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    tls.cert.display(),
                    tls.key.display()
                ));
                ca = Some(tls.ca);
            }
        }
        let config_file = dir.join("config.yml");
        std::fs::write(&config_file, config).unwrap();
        let log = dir.join("registry.log");
        let mut cmd = Command::new(program);
        cmd.arg("serve").arg(&config_file);
        let mut service = Service::spawn("docker-registry", &mut cmd, &log, &log, libc::SIGTERM)
            .expect("docker-registry starts");
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = service.exited() {
                panic!(
                    "docker-registry exited during start-up ({status}):\n{}",
                    log_end(&log, 20)
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "docker-registry did not listen on {addr} within 20 s:\n{}",
                log_end(&log, 20)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            service,
            addr,
            dir,
            ca,
        }
    }

    /// `127.0.0.1:<port>/<repository>:<tag>`.
    pub fn reference(&self, repository_and_tag: &str) -> String {
        format!("{}/{repository_and_tag}", self.addr)
    }

    /// The registry's log, for failure messages.
    pub fn log_tail(&self) -> String {
        log_end(self.service.log(), 20)
    }

    /// A directory for the test's other files (docker configs, caches), inside the registry's.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.service.stop();
        let _ = std::fs::remove_dir_all(self.dir.join("storage"));
    }
}

/// A docker config directory (`DOCKER_CONFIG`) whose config.json holds `user:password` for
/// `registry`, as `docker login` writes it; `None`: an empty config (no login).
pub fn docker_config(dir: &Path, registry: &str, login: Option<(&str, &str)>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let auths = match login {
        Some((user, password)) => {
            let auth =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            serde_json::json!({ registry: { "auth": auth } })
        }
        None => serde_json::json!({}),
    };
    let config = serde_json::json!({ "auths": auths });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir.to_path_buf()
}

/// The files of a TLS registry.
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// A CA, and a certificate for 127.0.0.1 it signs, made with the openssl command.
fn make_certificates(dir: &Path) -> TlsFiles {
    let openssl = which("openssl", "openssl");
    let run = |args: &[&str]| {
        let out = Command::new(&openssl)
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=test registry CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.pem",
        "-extfile",
        "server.ext",
    ]);
    TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// `program` on PATH; panics saying which Debian package has it and that `cargo xtask setup`
/// installs it.
pub fn which(program: &str, package: &str) -> PathBuf {
    ::which::which(program).unwrap_or_else(|_| {
        panic!(
            "`{program}` is not on PATH: `cargo xtask setup` installs it as root on Debian/Ubuntu \
             (or: apt-get install {package})"
        )
    })
}
