//! Loopback ports: free ones for tests, and a clear message when a chosen one is taken.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use anyhow::{Context, Result};

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
pub fn free() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// `port`, or a free one when `port` is 0; fails, naming the port and the flag that
/// changes it, when something already listens there (an error of kind `AddrInUse`).
pub fn claim(port: u16, what: &str, flag: &str) -> Result<u16> {
    if port == 0 {
        return free();
    }
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => Ok(port),
        Err(err) if err.kind() == ErrorKind::AddrInUse => Err(err).with_context(|| {
            format!(
                "port {port} on 127.0.0.1 ({what}) is in use: is `docker compose up` or another \
                 `cargo xtask run` still running? Stop it, or choose another port with \
                 `{flag} <PORT>` (`{flag} 0` picks a free one)"
            )
        }),
        Err(err) => Err(err).with_context(|| format!("cannot listen on 127.0.0.1:{port} ({what})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_an_addr_in_use_error_naming_the_flag() {
        let holder = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = holder.local_addr().unwrap().port();
        let err = claim(port, "Envoy's listener", "--port").unwrap_err();
        let kind = err.downcast_ref::<std::io::Error>().map(|e| e.kind());
        assert_eq!(kind, Some(ErrorKind::AddrInUse), "{err:#}");
        assert!(
            format!("{err:#}").contains("`--port 0` picks a free one"),
            "{err:#}"
        );
        drop(holder);
        assert_eq!(claim(port, "Envoy's listener", "--port").unwrap(), port);
    }
}
