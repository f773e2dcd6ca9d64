//! Opening a TCP connection to a mail server, shared by every protocol.

use crate::account::Server;
use std::time::Duration;
use tokio::net::TcpStream;

/// Why no TCP connection could be made; each protocol wraps it in its own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpError {
    /// The name did not resolve.
    HostNotFound(String),
    /// Every address refused, was unreachable or did not answer in time.
    Unreachable(String),
}

/// How long one address may take: a black-holed IPv6 address must not use up the whole
/// connect budget before IPv4 is tried.
const PER_ADDRESS: Duration = Duration::from_secs(8);

/// Resolves the server's host and connects to the first address that answers.
pub async fn connect(server: &Server) -> Result<TcpStream, TcpError> {
    let addrs: Vec<_> = tokio::net::lookup_host((server.host.as_str(), server.port))
        .await
        .map_err(|e| TcpError::HostNotFound(format!("{}: {e}", server.host)))?
        .collect();
    if addrs.is_empty() {
        return Err(TcpError::HostNotFound(server.host.clone()));
    }
    let mut last = String::new();
    for addr in addrs {
        match tokio::time::timeout(PER_ADDRESS, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // Commands are small and latency-bound.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("{addr}: no answer"),
        }
    }
    Err(TcpError::Unreachable(format!(
        "{}:{}: {last}",
        server.host, server.port
    )))
}
