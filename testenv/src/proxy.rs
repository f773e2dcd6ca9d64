//! A fault-injecting TCP proxy on loopback: forwards to a real server and drops
//! connections on demand, to test reconnects and drop-at-byte-N recovery.
//!
//! Cut points are counted in bytes on the wire, so they work through TLS too: a test
//! that knows roughly how much the client sends (a large message) can cut in its
//! middle, or just after its end, before the server's reply.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread;

/// Forwards 127.0.0.1:`port()` to a target port; see [`FaultProxy::drop_all`],
/// [`FaultProxy::drop_after_server_bytes`], [`FaultProxy::drop_after_client_bytes`] and
/// [`FaultProxy::drop_reply_after_client_bytes`].
pub struct FaultProxy {
    port: u16,
    state: Arc<State>,
}

struct State {
    /// Both sockets of every connection. Only the copying threads own them, so a socket
    /// is closed as soon as its connection is cut: data the client sends after the cut
    /// then gets a reset, rather than filling a buffer nobody reads (which would leave
    /// the client blocked in a write instead of seeing the drop).
    open: Mutex<Vec<Weak<TcpStream>>>,
    /// Cut each new connection once the server has sent this many bytes (0: never).
    cut_after: AtomicU64,
    /// Cut each new connection once the client has sent this many bytes (0: never).
    cut_after_client: AtomicU64,
    /// Once the client has sent this many bytes, cut each new connection instead of
    /// forwarding the server's next bytes (0: never).
    cut_reply_after_client: AtomicU64,
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
            cut_after_client: AtomicU64::new(0),
            cut_reply_after_client: AtomicU64::new(0),
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
            for stream in open.drain(..).filter_map(|s| s.upgrade()) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Cuts every later connection after the server has sent `n` bytes (0 turns it off).
    pub fn drop_after_server_bytes(&self, n: u64) {
        self.state.cut_after.store(n, Ordering::SeqCst);
    }

    /// Cuts every later connection once the client has sent `n` bytes; byte `n + 1` and
    /// later never reach the server (0 turns it off). For "lost in the middle of an
    /// upload".
    pub fn drop_after_client_bytes(&self, n: u64) {
        self.state.cut_after_client.store(n, Ordering::SeqCst);
    }

    /// On every later connection, once the client has sent at least `n` bytes, the
    /// server's next bytes are not forwarded: the connection is cut instead (0 turns it
    /// off). For "the server got everything, and the connection was lost before its
    /// reply arrived" (e.g. after SMTP's final dot).
    pub fn drop_reply_after_client_bytes(&self, n: u64) {
        self.state.cut_reply_after_client.store(n, Ordering::SeqCst);
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
    let (client, server) = (Arc::new(client), Arc::new(server));
    if let Ok(mut open) = state.open.lock() {
        open.retain(|s| s.strong_count() > 0);
        open.push(Arc::downgrade(&client));
        open.push(Arc::downgrade(&server));
    }
    let client_sent = Arc::new(AtomicU64::new(0));
    let upstream = Direction {
        limit: state.cut_after_client.load(Ordering::SeqCst),
        counter: client_sent.clone(),
        cut_when: None,
    };
    let downstream = Direction {
        limit: state.cut_after.load(Ordering::SeqCst),
        counter: Arc::new(AtomicU64::new(0)),
        cut_when: match state.cut_reply_after_client.load(Ordering::SeqCst) {
            0 => None,
            n => Some((client_sent, n)),
        },
    };
    copy_in_thread(client.clone(), server.clone(), upstream);
    copy_in_thread(server, client, downstream);
    Ok(())
}

/// How one direction of a connection is copied.
struct Direction {
    /// Cut after this many bytes (0: no limit).
    limit: u64,
    /// Bytes forwarded so far in this direction; counted before they are written, so
    /// the other direction never sees a reply to bytes not yet counted.
    counter: Arc<AtomicU64>,
    /// Cut instead of forwarding anything more once this counter (the other
    /// direction's) has reached this many bytes.
    cut_when: Option<(Arc<AtomicU64>, u64)>,
}

/// Copies `from` to `to` until EOF or a cut point, then shuts both down. The other
/// direction's thread then sees EOF too, and the sockets close with the last owner.
fn copy_in_thread(from: Arc<TcpStream>, to: Arc<TcpStream>, dir: Direction) {
    thread::spawn(move || {
        let (mut from, mut to) = (&*from, &*to);
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some((other, at)) = &dir.cut_when
                && other.load(Ordering::SeqCst) >= *at
            {
                break;
            }
            let sent = dir.counter.load(Ordering::SeqCst);
            let n = if dir.limit > 0 {
                (n as u64).min(dir.limit - sent) as usize
            } else {
                n
            };
            dir.counter.fetch_add(n as u64, Ordering::SeqCst);
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            if dir.limit > 0 && sent + n as u64 >= dir.limit {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
