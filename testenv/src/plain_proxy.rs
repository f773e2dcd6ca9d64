//! A relay in front of Dovecot's plain (STARTTLS) ports that makes loopback clients look
//! remote.
//!
//! Dovecot treats a connection whose client IP equals its own IP as secure, so on
//! 127.0.0.1 it would accept LOGIN/USER+PASS before STARTTLS and never advertise
//! LOGINDISABLED. The relay accepts on 127.0.0.1 and opens each upstream connection with
//! a HAProxy PROXY v1 header naming 127.0.0.2 as the client; Dovecot's listener trusts
//! that header from 127.0.0.1 only (`haproxy_trusted_networks`), so plain ports then
//! behave as they would for a client on the network. Nothing binds anything but 127.0.0.1.

use std::io::{self, Write as _};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Client address Dovecot is told about; it only has to differ from 127.0.0.1.
const CLAIMED_CLIENT: &str = "127.0.0.2";

pub(crate) struct PlainProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl PlainProxy {
    /// Listens on a free port of 127.0.0.1 and relays to `upstream` (a haproxy listener).
    pub(crate) fn start(upstream: u16) -> io::Result<PlainProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let accept_thread = std::thread::Builder::new()
            .name(format!("tern-testenv-proxy-{port}"))
            .spawn(move || {
                for client in listener.incoming() {
                    if stop_flag.load(Ordering::Acquire) {
                        break;
                    }
                    // A failed accept or upstream connect only loses that one connection,
                    // which the client sees as closed, like a refused server.
                    if let Ok(client) = client {
                        let _ = relay(client, port, upstream);
                    }
                }
            })?;
        Ok(PlainProxy {
            port,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PlainProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the blocking accept so the thread sees the flag and closes the listener.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects upstream, sends the PROXY header and copies both ways on two threads.
fn relay(client: TcpStream, listen_port: u16, upstream: u16) -> io::Result<()> {
    let client_port = client.peer_addr()?.port();
    let mut server = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream))?;
    server.set_nodelay(true)?;
    client.set_nodelay(true)?;
    write!(
        server,
        "PROXY TCP4 {CLAIMED_CLIENT} 127.0.0.1 {client_port} {listen_port}\r\n"
    )?;
    let (client2, server2) = (client.try_clone()?, server.try_clone()?);
    std::thread::Builder::new()
        .name("tern-testenv-relay-up".into())
        .spawn(move || {
            let _ = io::copy(&mut &client, &mut &server);
            // The client is done sending; the server may still answer (e.g. to LOGOUT).
            let _ = server.shutdown(Shutdown::Write);
        })?;
    std::thread::Builder::new()
        .name("tern-testenv-relay-down".into())
        .spawn(move || {
            let _ = io::copy(&mut &server2, &mut &client2);
            // The server closed: close the client fully, which also ends the other thread.
            let _ = client2.shutdown(Shutdown::Both);
        })?;
    Ok(())
}
