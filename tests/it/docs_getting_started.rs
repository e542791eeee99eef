//! `docs/getting-started.md` works as written: every fenced `sh` block is run, in order, in
//! a temporary copy of the repository, as one reader in one terminal would type it (the
//! environment and the directory carry over from block to block). The built binary is on
//! `PATH` instead of `cargo install --path .`, and the block that is only
//! `cityform emulator` ("start it in a second terminal") starts it in the background, on
//! the port the page names; nothing else may be listening there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PAGE: &str = "docs/getting-started.md";

/// The line the page installs cityform with; the test puts the built binary on `PATH`.
const INSTALL: &str = "cargo install --path .";

/// A block that is only this line runs in the background, as in a second terminal.
const EMULATOR: &str = "cityform emulator";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fenced blocks whose info string is `sh`, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == "```sh" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.push(current.take().unwrap()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "{PAGE}: a block is not closed");
    blocks
}

fn copy(source: &Path, target: &Path) {
    if source.is_dir() {
        std::fs::create_dir_all(target).unwrap();
        for entry in std::fs::read_dir(source).unwrap() {
            let entry = entry.unwrap();
            copy(&entry.path(), &target.join(entry.file_name()));
        }
    } else {
        std::fs::copy(source, target).unwrap();
    }
}

/// The background emulator; stopped when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_emulator(directory: &Path, path_variable: &str) -> Background {
    let mut child = Command::new("sh")
        // `exec`, so that stopping the shell stops the emulator.
        .args(["-c", &format!("exec {EMULATOR}")])
        .current_dir(directory)
        .env_clear()
        // Never ask a real metadata service (100.100.100.200) from a test.
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .env("PATH", path_variable)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = sender.send(lines.next().and_then(Result::ok));
        for _ in lines {}
    });
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
    let background = Background(child);
    match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(line)) if line.starts_with("cityform emulator listening on ") => background,
        other => panic!(
            "`{EMULATOR}` did not start (is something else listening on its port?): {other:?}"
        ),
    }
}

#[test]
fn every_sh_block_of_getting_started_succeeds() {
    let page = std::fs::read_to_string(repository().join(PAGE)).unwrap();
    let blocks = sh_blocks(&page);
    assert!(blocks.len() >= 6, "{PAGE}: only {} sh blocks", blocks.len());
    assert!(
        blocks[0].lines().next() == Some(INSTALL),
        "{PAGE}: the first block should install cityform with `{INSTALL}`"
    );
    assert!(
        blocks.iter().any(|block| block.trim() == EMULATOR),
        "{PAGE}: no block starts the emulator"
    );

    let root = tempfile::tempdir().unwrap();
    let clone = root.path().join("cityform");
    for part in ["manifests", "docs", "README.md", "Cargo.toml"] {
        copy(&repository().join(part), &clone.join(part));
    }
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_cityform"), bin.join("cityform")).unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let path_variable = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // What one terminal remembers between blocks: exported variables and the directory.
    let environment_file = root.path().join("environment.sh");
    std::fs::write(
        &environment_file,
        format!(
            "export PATH='{path_variable}'\nexport HOME='{}'\ncd '{}'\n",
            home.display(),
            clone.display()
        ),
    )
    .unwrap();

    let mut background = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        if block.trim() == EMULATOR {
            background.push(start_emulator(&clone, &path_variable));
            continue;
        }
        let commands: String = block
            .lines()
            .filter(|line| *line != INSTALL)
            .map(|line| format!("{line}\n"))
            .collect();
        let script = format!(
            ". '{state}'\nset -e\n{commands}\n{{ export -p; printf 'cd %s\\n' \"$(pwd)\"; }} > '{state}'\n",
            state = environment_file.display()
        );
        let output = Command::new("bash")
            .args(["--noprofile", "--norc", "-c", &script])
            .env_clear()
            // Never ask a real metadata service (100.100.100.200) from a test.
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{PAGE}, sh block {} failed with {:?}:\n{block}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            index + 1,
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // What the page promises at the end: six job groups recorded in the state.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(clone.join(".cityform/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["job_groups"].as_object().unwrap().len(), 6);
    drop(background);
}

#[test]
fn sh_blocks_are_found_in_order() {
    let markdown = "text\n```sh\na\nb\n```\n```console\nnot run\n```\n```sh\nc\n```\n";
    assert_eq!(sh_blocks(markdown), ["a\nb\n", "c\n"]);
}
