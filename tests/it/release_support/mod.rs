//! A cityform release as `install.sh` finds one, served over HTTP from a loopback port: the
//! files of version `VERSION` at `download/vVERSION/` and again at `latest/download/`, laid
//! out as GitHub serves a repository's releases. A release holds
//! `cityform-VERSION-TARGET.tar.gz` (with `cityform-VERSION-TARGET/cityform` in it),
//! `install.sh` and `SHA256SUMS`, as `.github/workflows/release.yml` publishes them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use sha2::Digest as _;

use crate::credentials_support::{Served, serve};

/// The version the releases made here have: the crate's, as a real release's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The repository's `install.sh`.
pub fn install_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// The target `install.sh` picks on this machine.
pub fn native_target() -> String {
    let architecture = std::env::consts::ARCH;
    match std::env::consts::OS {
        "macos" => format!("{architecture}-apple-darwin"),
        _ => format!("{architecture}-unknown-linux-gnu"),
    }
}

/// The archive's name for this machine.
pub fn archive_name() -> String {
    format!("cityform-{VERSION}-{}.tar.gz", native_target())
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The programs `install.sh` and this module use that a machine may lack; empty when all
/// are there.
pub fn missing_tools() -> Vec<&'static str> {
    let found = |name: &str| {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|directory| directory.join(name).is_file())
        })
    };
    let mut missing = Vec::new();
    for tool in ["sh", "tar", "gzip"] {
        if !found(tool) {
            missing.push(tool);
        }
    }
    if !found("sha256sum") && !found("shasum") {
        missing.push("sha256sum");
    }
    if !found("curl") && !found("wget") {
        missing.push("curl");
    }
    missing
}

/// A release directory and the server that serves it; both go when dropped.
pub struct ReleaseServer {
    /// `http://127.0.0.1:PORT`: what `--base-url` takes.
    pub base_url: String,
    root: tempfile::TempDir,
    requests: Arc<Mutex<Vec<String>>>,
    _served: Served,
}

impl ReleaseServer {
    /// A release of [`VERSION`] for this machine whose `cityform` is a copy of `binary`.
    pub fn new(binary: &Path) -> Self {
        let root = tempfile::tempdir().unwrap();
        let release = root.path().join(format!("download/v{VERSION}"));
        std::fs::create_dir_all(&release).unwrap();
        pack(binary, &release.join(archive_name()));
        std::fs::copy(install_script(), release.join("install.sh")).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new()
            .fallback(serve_file)
            .with_state((root.path().to_owned(), Arc::clone(&requests)));
        let served = serve(router);
        let server = Self {
            base_url: served.base.clone(),
            root,
            requests,
            _served: served,
        };
        let archive = std::fs::read(server.file("download", &archive_name())).unwrap();
        let install = std::fs::read(release.join("install.sh")).unwrap();
        server.write_sums(&format!(
            "{}  {}\n{}  install.sh\n",
            sha256_hex(&archive),
            archive_name(),
            sha256_hex(&install)
        ));
        server
    }

    /// The path of `name` in the release (`download`) or the latest release (`latest`).
    pub fn file(&self, which: &str, name: &str) -> PathBuf {
        match which {
            "download" => self
                .root
                .path()
                .join(format!("download/v{VERSION}"))
                .join(name),
            "latest" => self.root.path().join("latest/download").join(name),
            other => panic!("no release `{other}`"),
        }
    }

    /// Replaces `SHA256SUMS` of the release, and the latest release's copy of every file.
    pub fn write_sums(&self, contents: &str) {
        std::fs::write(self.file("download", "SHA256SUMS"), contents).unwrap();
        self.mirror_latest();
    }

    /// Removes `SHA256SUMS` from both places.
    pub fn remove_sums(&self) {
        let _ = std::fs::remove_file(self.file("download", "SHA256SUMS"));
        let _ = std::fs::remove_file(self.file("latest", "SHA256SUMS"));
    }

    /// The paths asked for so far, in order; the record is emptied.
    pub fn take_requests(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }

    /// `latest/download/` as a copy of the release (hard links: the archive can be large).
    fn mirror_latest(&self) {
        let latest = self.root.path().join("latest/download");
        let _ = std::fs::remove_dir_all(&latest);
        std::fs::create_dir_all(&latest).unwrap();
        for entry in std::fs::read_dir(self.file("download", "")).unwrap() {
            let entry = entry.unwrap();
            std::fs::hard_link(entry.path(), latest.join(entry.file_name())).unwrap();
        }
    }
}

/// `cityform-VERSION-TARGET.tar.gz` holding `binary` as `cityform-VERSION-TARGET/cityform`.
fn pack(binary: &Path, archive: &Path) {
    let staging = tempfile::tempdir().unwrap();
    let directory_name = format!("cityform-{VERSION}-{}", native_target());
    let directory = staging.path().join(&directory_name);
    std::fs::create_dir(&directory).unwrap();
    std::fs::copy(binary, directory.join("cityform")).unwrap();
    let tar = staging.path().join("release.tar");
    run(Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(staging.path())
        .arg(&directory_name));
    // Fastest compression: the debug binary is large, and the ratio does not matter here.
    run(Command::new("gzip").arg("-1").arg(&tar));
    std::fs::rename(staging.path().join("release.tar.gz"), archive).unwrap();
}

fn run(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Answers a GET with the file under the root, or 404.
async fn serve_file(
    State((root, requests)): State<(PathBuf, Arc<Mutex<Vec<String>>>)>,
    request: Request,
) -> Result<Vec<u8>, StatusCode> {
    let path = request.uri().path().to_owned();
    requests.lock().unwrap().push(path.clone());
    let relative = path.trim_start_matches('/');
    if relative
        .split('/')
        .any(|part| part.is_empty() || part == "..")
    {
        return Err(StatusCode::NOT_FOUND);
    }
    tokio::fs::read(root.join(relative))
        .await
        .map_err(|_| StatusCode::NOT_FOUND)
}
