//! A fault-injecting TCP proxy on loopback: forwards to a real server and drops
//! connections on demand, to test reconnects and drop-at-byte-N recovery.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Forwards 127.0.0.1:`port()` to a target port; see [`FaultProxy::drop_all`] and
/// [`FaultProxy::drop_after_server_bytes`].
pub struct FaultProxy {
    port: u16,
    state: Arc<State>,
}

struct State {
    open: Mutex<Vec<TcpStream>>,
    /// Cut each new connection once the server has sent this many bytes (0: never).
    cut_after: AtomicU64,
    stopped: AtomicBool,
}

impl FaultProxy {
    /// Starts forwarding to 127.0.0.1:`target`.
    pub fn start(target: u16) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            open: Mutex::new(Vec::new()),
            cut_after: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let accept_state = state.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                if accept_state.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let _ = pipe(client, server, &accept_state);
            }
        });
        Ok(FaultProxy { port, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every open connection at once, as a network outage or a sleeping laptop does.
    pub fn drop_all(&self) {
        if let Ok(mut open) = self.state.open.lock() {
            for stream in open.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Cuts every later connection after the server has sent `n` bytes (0 turns it off).
    pub fn drop_after_server_bytes(&self, n: u64) {
        self.state.cut_after.store(n, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        self.drop_all();
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn pipe(client: TcpStream, server: TcpStream, state: &Arc<State>) -> io::Result<()> {
    if let Ok(mut open) = state.open.lock() {
        open.push(client.try_clone()?);
        open.push(server.try_clone()?);
    }
    let limit = state.cut_after.load(Ordering::SeqCst);
    copy_in_thread(client.try_clone()?, server.try_clone()?, 0);
    copy_in_thread(server, client, limit);
    Ok(())
}

/// Copies `from` to `to` until EOF or `limit` bytes (0: no limit), then shuts both down.
fn copy_in_thread(mut from: TcpStream, mut to: TcpStream, limit: u64) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        let mut sent = 0u64;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let n = if limit > 0 {
                (n as u64).min(limit - sent) as usize
            } else {
                n
            };
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            sent += n as u64;
            if limit > 0 && sent >= limit {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
