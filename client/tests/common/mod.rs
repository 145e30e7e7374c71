//! Test helpers shared by the client's end-to-end tests: a real
//! `chat-server` (the `server` library) on a loopback port of its own,
//! running on its own thread and runtime so blocking and async tests can
//! both use it.

#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A server on 127.0.0.1; shut down (LEAVE-5) on [`TestServer::stop`] or
/// drop.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server on a free loopback port.
    pub fn start() -> TestServer {
        TestServer::start_on("127.0.0.1:0")
    }

    /// A server on `addr` (a fixed port, to restart a server in place).
    pub fn start_on(addr: &str) -> TestServer {
        TestServer::start_with(addr, server::Config::default())
    }

    /// A server on `addr` with the given configuration (limits).
    pub fn start_with(addr: &str, config: server::Config) -> TestServer {
        let listener = std::net::TcpListener::bind(addr).expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a listener can be made non-blocking");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a test runtime starts");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("register the listener");
                let shutdown = async {
                    let _ = stopped.await;
                };
                server::run(listener, shutdown, config)
                    .await
                    .expect("the test's config is valid");
            });
        });
        TestServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// Shuts the server down gracefully and waits until it has returned.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
