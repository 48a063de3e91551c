//! Loopback ports: free ones for tests, and a clear message when a chosen one is taken.

use std::net::{Ipv4Addr, TcpListener};

use anyhow::{Result, bail};

/// A port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
pub fn free() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// `port`, or a free one when `port` is 0; fails, naming the port and the flag that
/// changes it, when something already listens there.
pub fn claim(port: u16, what: &str, flag: &str) -> Result<u16> {
    if port == 0 {
        return free();
    }
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => Ok(port),
        Err(err) => bail!(
            "port {port} on 127.0.0.1 ({what}) is in use ({err}): is `docker compose up` or another \
             `cargo xtask run` still running? Stop it, or choose another port with `{flag} <PORT>` \
             (`{flag} 0` picks a free one)"
        ),
    }
}
