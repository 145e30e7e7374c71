//! Shared by the end-to-end tests that run the workspace's binaries.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// A loopback port that nothing listens on (bound once, then released).
// Each test crate includes this module; not all of them use every helper.
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Binaries already brought up to date by this test process.
static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The workspace binary `name` of this build (`chat-server`, `chat-client`,
/// `chat-sim`; each is also its package's name), next to the test's
/// `deps` directory. It is built first, once per test process, with the
/// cargo that runs the test, into the same target directory and profile:
/// a no-op under `cargo test --workspace`, which builds every binary, but
/// `cargo test -p chat-tests` alone would otherwise run a missing or stale
/// binary of another package.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("a test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if !built.contains(name) {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--locked", "-q", "-p", name, "--bin", name]);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            build.env("CARGO_TARGET_DIR", target);
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building {name} failed");
        built.insert(name.to_owned());
    }
    profile_dir.join(name)
}
