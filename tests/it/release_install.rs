//! `install.sh` installs a release only after checking it: run against a release served from
//! a loopback port (`release_support`), the right checksum installs a `cityform` that runs,
//! and a wrong or missing checksum is refused with an error that says so, leaving the target
//! directory as it was (no partial file, an older binary untouched).
//!
//! Skipped, with a line on standard error, only when a tool the script needs (`sh`, `tar`,
//! `gzip`, `sha256sum` or `shasum`, `curl` or `wget`) is missing, and never with `CI` set
//! (to anything but `false` or `0`), as under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::release_support::{
    ReleaseServer, VERSION, archive_name, install_script, missing_tools, native_target,
};

/// Whether the tools are there; if not, says so on the process's own standard error (the
/// harness shows that in a passing run) and the test returns. With `CI` set a missing tool
/// fails the test instead.
fn tools_present() -> bool {
    let missing = missing_tools();
    if missing.is_empty() {
        return true;
    }
    let in_ci = std::env::var("CI")
        .is_ok_and(|value| !value.is_empty() && value != "false" && value != "0");
    assert!(
        !in_ci,
        "CI is set, but the install script's tools are missing: {missing:?}"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIP: install.sh needs {missing:?}, which this machine lacks"
    );
    false
}

/// A small stand-in for the binary: prints what `cityform --version` prints.
fn stand_in(directory: &Path) -> PathBuf {
    let path = directory.join("cityform-stand-in");
    std::fs::write(&path, format!("#!/bin/sh\necho 'cityform {VERSION}'\n")).unwrap();
    make_executable(&path);
    path
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs `sh install.sh ARGUMENTS` with `HOME` at `home` and the given extra variables.
fn install(home: &Path, arguments: &[&str], variables: &[(&str, &str)]) -> Output {
    Command::new("sh")
        .arg(install_script())
        .args(arguments)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(variables.iter().copied())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The names in `directory`, sorted; empty when it does not exist.
fn listing(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn the_right_checksum_installs_a_cityform_that_runs() {
    if !tools_present() {
        return;
    }
    let release = ReleaseServer::new(Path::new(env!("CARGO_BIN_EXE_cityform")));
    let home = tempfile::tempdir().unwrap();
    let target = home.path().join("tools/bin");
    let to = target.to_str().unwrap();

    let output = install(
        home.path(),
        &[
            "--version",
            VERSION,
            "--to",
            to,
            "--base-url",
            &release.base_url,
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(listing(&target), ["cityform"]);
    let installed = Command::new(target.join("cityform"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(installed.status.success());
    assert_eq!(
        text(&installed.stdout).trim(),
        format!("cityform {VERSION}")
    );
    let said = text(&output.stdout);
    assert!(
        said.starts_with(&format!(
            "Installed cityform {VERSION} ({}) at {to}/cityform\n",
            native_target()
        )),
        "{said}"
    );
    assert!(said.contains("is not on PATH"), "{said}");
    assert_eq!(
        release.take_requests(),
        [
            format!("/download/v{VERSION}/SHA256SUMS"),
            format!("/download/v{VERSION}/{}", archive_name()),
        ]
    );
}

#[test]
fn without_a_version_the_latest_release_is_installed() {
    if !tools_present() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let release = ReleaseServer::new(&stand_in(home.path()));
    // The base URL from the environment, a `v` before the version is accepted, and the
    // default directory is ~/.local/bin.
    let output = install(
        home.path(),
        &[],
        &[(
            "CITYFORM_INSTALL_BASE_URL",
            &format!("{}/", release.base_url),
        )],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(listing(&home.path().join(".local/bin")), ["cityform"]);
    assert_eq!(
        release.take_requests(),
        [
            "/latest/download/SHA256SUMS".to_owned(),
            format!("/latest/download/{}", archive_name()),
        ]
    );
    let output = install(
        home.path(),
        &[
            "--version",
            &format!("v{VERSION}"),
            "--base-url",
            &release.base_url,
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        release.take_requests()[0],
        format!("/download/v{VERSION}/SHA256SUMS")
    );
}

/// Installs from `release` into `target`, which holds an older `cityform`; asserts that the
/// script fails with a message containing `expected` and leaves `target` as it was.
fn assert_refused(release: &ReleaseServer, home: &Path, expected: &str) {
    let target = home.join("bin");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("cityform"), "the older binary").unwrap();
    let output = install(
        home,
        &[
            "--version",
            VERSION,
            "--to",
            target.to_str().unwrap(),
            "--base-url",
            &release.base_url,
        ],
        &[],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert!(stderr.contains("nothing was installed"), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    assert_eq!(listing(&target), ["cityform"]);
    assert_eq!(
        std::fs::read_to_string(target.join("cityform")).unwrap(),
        "the older binary"
    );
    // Into a directory that does not exist yet: it is not even created.
    let fresh = home.join("fresh/bin");
    let output = install(
        home,
        &[
            "--version",
            VERSION,
            "--to",
            fresh.to_str().unwrap(),
            "--base-url",
            &release.base_url,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(!home.join("fresh").exists());
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_installed() {
    if !tools_present() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let release = ReleaseServer::new(&stand_in(home.path()));
    let wrong = "0".repeat(64);
    release.write_sums(&format!("{wrong}  {}\n", archive_name()));
    assert_refused(
        &release,
        home.path(),
        &format!(
            "the checksum of `{}` does not match SHA256SUMS (expected {wrong}, got ",
            archive_name()
        ),
    );
    // The archive was downloaded, and refused.
    assert!(
        release
            .take_requests()
            .contains(&format!("/download/v{VERSION}/{}", archive_name()))
    );
}

#[test]
fn a_missing_checksum_is_refused_and_nothing_is_installed() {
    if !tools_present() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let release = ReleaseServer::new(&stand_in(home.path()));

    // SHA256SUMS without a line for the archive (only one for another target).
    release.write_sums(&format!(
        "{}  cityform-{VERSION}-sparc-unknown-linux-gnu.tar.gz\n",
        "a".repeat(64)
    ));
    assert_refused(
        &release,
        home.path(),
        &format!("SHA256SUMS` has no checksum for `{}`", archive_name()),
    );
    // A line for it that is not a SHA-256.
    release.write_sums(&format!("not-a-checksum  {}\n", archive_name()));
    assert_refused(&release, home.path(), "SHA-256");
    // No SHA256SUMS at all: the archive is not even downloaded.
    release.remove_sums();
    release.take_requests();
    assert_refused(&release, home.path(), "could not download the checksums");
    assert!(
        release
            .take_requests()
            .iter()
            .all(|path| path.ends_with("/SHA256SUMS"))
    );
}

#[test]
fn without_a_release_location_or_with_a_bad_argument_it_says_what_to_do() {
    if !tools_present() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    // The repository's copy knows no repository; the release workflow writes one into the
    // copy it publishes.
    let output = install(home.path(), &[], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("pass --base-url URL or set CITYFORM_INSTALL_BASE_URL"),
        "{}",
        text(&output.stderr)
    );
    let output = install(home.path(), &["--version", "../../etc"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("is not a version"));
    let output = install(home.path(), &["--prefix", "/usr"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("unknown argument `--prefix`"));
    assert!(listing(home.path()).is_empty());
}
