//! A TCP relay in front of an emulator that can play dead: [`Proxy::kill`] closes its port
//! (new connections are refused) and cuts every open connection on the client's side, while
//! the requests already relayed still reach the emulator, which acts on them and answers
//! into the void (so a create in flight lands without its answer). [`Proxy::revive`] listens
//! on the same port again.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

struct Shared {
    killed: AtomicBool,
    /// The client side of every open connection, to cut them on a kill.
    clients: Mutex<Vec<TcpStream>>,
}

/// A relay to an emulator's endpoint, on a port of its own.
pub struct Proxy {
    port: u16,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Relays to `endpoint` (`http://127.0.0.1:PORT/`).
    pub fn start(endpoint: &str) -> Self {
        let upstream: SocketAddr = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Self {
            port,
            upstream,
            shared: Arc::new(Shared {
                killed: AtomicBool::new(false),
                clients: Mutex::new(Vec::new()),
            }),
            acceptor: None,
        };
        proxy.acceptor = Some(accept(listener, upstream, Arc::clone(&proxy.shared)));
        proxy
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Plays dead: the port is closed and every open connection is cut on the client's side.
    pub fn kill(&mut self) {
        self.shared.killed.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().unwrap();
        }
        for client in self.shared.clients.lock().unwrap().drain(..) {
            let _ = client.shutdown(Shutdown::Both);
        }
    }

    /// Listens on the same port again.
    pub fn revive(&mut self) {
        assert!(self.acceptor.is_none(), "the proxy is alive");
        self.shared.killed.store(false, Ordering::SeqCst);
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.acceptor = Some(accept(listener, self.upstream, Arc::clone(&self.shared)));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.kill();
    }
}

fn accept(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) -> JoinHandle<()> {
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !shared.killed.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((client, _)) => relay(client, upstream, &shared),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => break,
            }
        }
        // The listener is dropped here: the port refuses connections from now on.
    })
}

fn relay(client: TcpStream, upstream: SocketAddr, shared: &Arc<Shared>) {
    client.set_nonblocking(false).unwrap();
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    shared
        .clients
        .lock()
        .unwrap()
        .push(client.try_clone().unwrap());
    let (mut from_client, mut to_server) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 16 * 1024];
        while let Ok(read) = from_client.read(&mut buffer) {
            if read == 0 || to_server.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        // The server side is left open: what was relayed is still answered (into the void
        // after a kill).
    });
    let (mut from_server, mut to_client) = (server, client);
    let shared = Arc::clone(shared);
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 16 * 1024];
        let _ = from_server.set_read_timeout(Some(Duration::from_millis(100)));
        // After a kill, what the server still says is drained for a while, then the
        // connection is let go.
        let mut quiet_after_kill = 0;
        loop {
            match from_server.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => {
                    if !shared.killed.load(Ordering::SeqCst) {
                        let _ = to_client.write_all(&buffer[..read]);
                    }
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if shared.killed.load(Ordering::SeqCst) {
                        quiet_after_kill += 1;
                        if quiet_after_kill > 20 {
                            break;
                        }
                    }
                }
                Err(_) => break,
            }
        }
        let _ = to_client.shutdown(Shutdown::Both);
    });
}
