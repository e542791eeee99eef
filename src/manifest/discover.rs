//! The I/O edge of loading: turns the inputs a user named (files, directories, `-` for
//! standard input) into [`Source`]s, in a stable order, within a size limit.
//!
//! Rules (documented in `docs/manifest.md`):
//! - a named file is read whatever its name; a directory contributes every `*.yaml` and
//!   `*.yml` file below it, recursively, skipping names that start with `.`; the files of a
//!   directory are read in byte order of their paths;
//! - a symbolic link below a directory is followed only when it resolves inside that
//!   directory's tree; one that leads outside (or nowhere) is reported, not skipped, so
//!   that no manifest silently drops out of the set;
//! - a file reached twice (named twice, or through a link) is read once;
//! - a file larger than the limit is refused before it is read;
//! - anything but a regular file (a FIFO, a device, a socket) is refused before it is
//!   opened, in a directory and when named.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;
use super::source::Source;

/// One thing to read manifests from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file, or a directory of `*.yaml` / `*.yml` files.
    Path(PathBuf),
    /// The directory a command reads when it is named no manifests: read as [`Input::Path`],
    /// but when it does not exist the message says where it was looked for, since nobody
    /// typed it.
    DefaultDirectory(PathBuf),
    /// Standard input, named `-` in locations.
    Stdin,
}

impl Input {
    /// The path read, if any (standard input has none).
    pub fn path(&self) -> Option<&Path> {
        match self {
            Input::Path(path) | Input::DefaultDirectory(path) => Some(path),
            Input::Stdin => None,
        }
    }

    /// The input a command-line argument names: `-` is standard input, anything else a path.
    pub fn from_argument(argument: impl Into<OsString>) -> Self {
        let argument = argument.into();
        if argument == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(argument))
        }
    }
}

/// Limits on what [`super::load_with`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// The largest file (or standard input) read, in bytes.
    pub max_file_bytes: u64,
    /// The `regionId` of a job group that gives none, when the `Defaults` document gives
    /// none either: the region of the credentials' profile (its `region_id`).
    pub default_region_id: Option<String>,
}

impl LoadOptions {
    /// The default file size limit: 64 MiB, several times the largest manifest set measured
    /// (100,000 job groups in about 19 MB).
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
            default_region_id: None,
        }
    }
}

/// One step of discovery: a text to read, or a problem with a path.
#[derive(Debug)]
pub(crate) enum Found {
    /// A text to read.
    Source(Source),
    /// A path that could not be read.
    Problem(Diagnostic),
}

/// What the inputs name, before anything is read.
#[derive(Debug)]
enum Planned {
    File(PathBuf),
    Stdin,
    Problem(Diagnostic),
}

/// Every source the inputs name, in order, with a problem for each path that fails.
///
/// The paths are found first; each file is read only when the iterator reaches it, so that
/// a caller that is done with one text before taking the next holds one at a time.
pub(crate) fn discover<'a>(
    inputs: &[Input],
    options: &'a LoadOptions,
    stdin: &'a mut dyn Read,
) -> impl Iterator<Item = Found> + 'a {
    let mut discovery = Discovery {
        planned: Vec::new(),
        seen_files: HashSet::new(),
        stdin_named: false,
    };
    for input in inputs {
        match input {
            Input::Stdin => discovery.stdin(),
            Input::Path(path) => discovery.named_path(path),
            Input::DefaultDirectory(path) => discovery.default_directory(path),
        }
    }
    log_planned(&discovery.planned);
    discovery
        .planned
        .into_iter()
        .map(move |planned| match planned {
            Planned::File(path) => read_file(&path, options),
            Planned::Stdin => read_limited(stdin, "-", options),
            Planned::Problem(diagnostic) => Found::Problem(diagnostic),
        })
}

/// The manifest files beside each named file (in its directory, not below it) that the
/// inputs do not read themselves, as sources; unreadable ones are left out.
pub(crate) fn unread_siblings(inputs: &[Input], options: &LoadOptions) -> Vec<Source> {
    let mut read: HashSet<PathBuf> = HashSet::new();
    let mut directories: Vec<&Path> = Vec::new();
    for path in inputs.iter().filter_map(Input::path) {
        if let Ok(canonical) = fs::canonicalize(path) {
            if canonical.is_dir() {
                // A named directory is read whole, and so are the files below it.
                read.insert(canonical);
                continue;
            }
            read.insert(canonical);
        }
        let parent = path.parent().unwrap_or(Path::new(""));
        if !directories.contains(&parent) {
            directories.push(parent);
        }
    }
    let mut siblings = Vec::new();
    for directory in directories {
        let listed = fs::read_dir(if directory.as_os_str().is_empty() {
            Path::new(".")
        } else {
            directory
        });
        let Ok(entries) = listed else { continue };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
            .map(|entry| directory.join(entry.file_name()))
            .filter(|path| is_manifest_name(path) && !is_hidden(path))
            .collect();
        paths.sort();
        for path in paths {
            let inside_read = fs::canonicalize(&path).is_ok_and(|canonical| {
                canonical
                    .ancestors()
                    .any(|ancestor| read.contains(ancestor))
            });
            if inside_read {
                continue;
            }
            if let Found::Source(source) = read_file(&path, options) {
                siblings.push(source);
            }
        }
    }
    siblings
}

/// How many manifest files the `info` log names; `debug` names every one.
const FILES_NAMED: usize = 20;

/// Logs which manifests are about to be read.
fn log_planned(planned: &[Planned]) {
    let files: Vec<String> = planned
        .iter()
        .filter_map(|planned| match planned {
            Planned::File(path) => Some(path.display().to_string()),
            Planned::Stdin => Some("-".to_owned()),
            Planned::Problem(_) => None,
        })
        .collect();
    let mut named = files
        .iter()
        .take(FILES_NAMED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > FILES_NAMED {
        named.push_str(&format!(" and {} more", files.len() - FILES_NAMED));
        for file in &files {
            tracing::debug!("manifest file {file}");
        }
    }
    tracing::info!("reading {} manifest file(s): {named}", files.len());
}

/// The state of walking one directory tree.
struct Walk<'r> {
    /// The directory as named.
    root: &'r Path,
    /// Its canonical path: links must resolve below it.
    canonical_root: &'r Path,
    /// Canonical paths of the directories already queued, so that links cannot loop.
    visited: HashSet<PathBuf>,
    /// Directories still to list, the next on top.
    pending: Vec<PathBuf>,
    /// Manifest files found.
    files: Vec<PathBuf>,
}

struct Discovery {
    planned: Vec<Planned>,
    /// Canonical paths of the files already planned.
    seen_files: HashSet<PathBuf>,
    stdin_named: bool,
}

fn diagnostic(message: String, hint: Option<&str>) -> Diagnostic {
    Diagnostic {
        severity: super::diagnostic::Severity::Error,
        location: None,
        message,
        hint: hint.map(str::to_owned),
    }
}

fn problem(message: String, hint: Option<&str>) -> Planned {
    Planned::Problem(diagnostic(message, hint))
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn is_manifest_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|extension| extension.to_str()),
        Some("yaml" | "yml")
    )
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."))
}

impl Discovery {
    fn stdin(&mut self) {
        if self.stdin_named {
            self.planned.push(problem(
                "`-` (standard input) is named more than once".to_owned(),
                Some("standard input can be read only once; name `-` a single time"),
            ));
            return;
        }
        self.stdin_named = true;
        self.planned.push(Planned::Stdin);
    }

    fn default_directory(&mut self, path: &Path) {
        if fs::symlink_metadata(path).is_ok() {
            return self.named_path(path);
        }
        // Run from inside the directory itself, or from elsewhere: say where it was looked
        // for, and how to name the manifests instead.
        let looked = std::env::current_dir()
            .map_or_else(|_| path.to_path_buf(), |directory| directory.join(path));
        self.planned.push(problem(
            format!(
                "`{}` does not exist: no `-f` was given, so cityform looked for the manifests in `{}`",
                display(path),
                display(&looked)
            ),
            Some(&format!(
                "run cityform in the directory that holds `{}`, or name the manifests with `-f` \
                 (`-f .` reads the current directory)",
                display(path)
            )),
        ));
    }

    fn named_path(&mut self, path: &Path) {
        match fs::metadata(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => self.planned.push(problem(
                format!("`{}` does not exist", display(path)),
                Some("name a manifest file or a directory of `*.yaml` files"),
            )),
            Err(error) => self.planned.push(problem(
                format!("cannot read `{}`: {error}", display(path)),
                None,
            )),
            Ok(metadata) if metadata.is_dir() => self.directory(path),
            Ok(_) => self.file(path),
        }
    }

    fn directory(&mut self, root: &Path) {
        let canonical_root = match fs::canonicalize(root) {
            Ok(canonical) => canonical,
            Err(error) => {
                self.planned.push(problem(
                    format!("cannot read directory `{}`: {error}", display(root)),
                    None,
                ));
                return;
            }
        };
        let mut walk = Walk {
            root,
            canonical_root: &canonical_root,
            visited: HashSet::from([canonical_root.clone()]),
            pending: vec![root.to_path_buf()],
            files: Vec::new(),
        };
        let problems_before = self.planned.len();
        while let Some(directory) = walk.pending.pop() {
            self.list_directory(&directory, &mut walk);
        }
        let mut files = walk.files;
        // A tree whose links or subdirectories were already reported is not news when empty.
        if files.is_empty() && self.planned.len() == problems_before {
            self.planned.push(problem(
                format!("no `*.yaml` or `*.yml` files in `{}`", display(root)),
                Some(
                    "an empty set would plan to delete every job group; if that is the intent, \
                     add a file holding a single `---` line",
                ),
            ));
        }
        files.sort_by(|left, right| {
            left.as_os_str()
                .as_encoded_bytes()
                .cmp(right.as_os_str().as_encoded_bytes())
        });
        for file in files {
            self.file(&file);
        }
    }

    /// Lists one directory of a walk: manifest files are collected, subdirectories queued
    /// so that the walk goes depth first in name order, which decides (deterministically)
    /// under which path a directory reached twice is read.
    fn list_directory(&mut self, directory: &Path, walk: &mut Walk<'_>) {
        let entries = match fs::read_dir(directory) {
            Ok(entries) => entries,
            Err(error) => {
                self.planned.push(problem(
                    format!("cannot read directory `{}`: {error}", display(directory)),
                    None,
                ));
                return;
            }
        };
        let mut entries: Vec<fs::DirEntry> = entries
            .filter_map(|entry| match entry {
                Ok(entry) => Some(entry),
                Err(error) => {
                    self.planned.push(problem(
                        format!("cannot read directory `{}`: {error}", display(directory)),
                        None,
                    ));
                    None
                }
            })
            .collect();
        entries.sort_by(|left, right| {
            left.file_name()
                .as_encoded_bytes()
                .cmp(right.file_name().as_encoded_bytes())
        });
        let mut subdirectories = Vec::new();
        for entry in entries {
            let path = entry.path();
            if is_hidden(&path) {
                continue;
            }
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_symlink() {
                self.link(path, walk, &mut subdirectories);
            } else if file_type.is_dir() {
                if let Ok(canonical) = fs::canonicalize(&path)
                    && walk.visited.insert(canonical)
                {
                    subdirectories.push(path);
                }
            } else if is_manifest_name(&path) {
                walk.files.push(path);
            }
        }
        walk.pending.extend(subdirectories.into_iter().rev());
    }

    /// A symbolic link inside a directory being walked: followed only within the tree.
    fn link(&mut self, path: PathBuf, walk: &mut Walk<'_>, subdirectories: &mut Vec<PathBuf>) {
        let target = match fs::canonicalize(&path) {
            Ok(target) => target,
            Err(error) => {
                if is_manifest_name(&path) {
                    self.planned.push(problem(
                        format!("cannot follow symbolic link `{}`: {error}", display(&path)),
                        Some("fix or remove the link"),
                    ));
                }
                return;
            }
        };
        let is_dir = target.is_dir();
        if !is_dir && !is_manifest_name(&path) {
            return;
        }
        if !target.starts_with(walk.canonical_root) {
            self.planned.push(problem(
                format!(
                    "`{}` is a symbolic link to `{}`, outside `{}`; cityform does not follow it",
                    display(&path),
                    display(&target),
                    display(walk.root)
                ),
                Some("move or copy the manifests into the directory, or name them as inputs of their own"),
            ));
            return;
        }
        if !is_dir {
            walk.files.push(path);
        } else if walk.visited.insert(target) {
            subdirectories.push(path);
        }
    }

    fn file(&mut self, path: &Path) {
        // A file reached twice is read once; if it cannot be resolved, reading will say why.
        if let Ok(canonical) = fs::canonicalize(path)
            && !self.seen_files.insert(canonical)
        {
            return;
        }
        self.planned.push(Planned::File(path.to_path_buf()));
    }
}

fn read_file(path: &Path, options: &LoadOptions) -> Found {
    let name = display(path);
    // Looked at before it is opened: opening a FIFO waits for a writer, and a device such
    // as `/dev/zero` never ends.
    if let Ok(metadata) = fs::metadata(path)
        && let Some(kind) = crate::file_kind::special_kind(&metadata.file_type())
    {
        return Found::Problem(diagnostic(
            format!("`{name}` is {kind}, not a regular file"),
            Some(
                "manifests are read only from regular files; to read from a pipe or a device, give it as `-` (standard input)",
            ),
        ));
    }
    match fs::File::open(path) {
        Err(error) => Found::Problem(diagnostic(format!("cannot read `{name}`: {error}"), None)),
        Ok(mut file) => match file.metadata() {
            Ok(metadata) if metadata.len() > options.max_file_bytes => too_large(&name, options),
            _ => read_limited(&mut file, &name, options),
        },
    }
}

/// Reads at most the limit; a text that goes on past it (a growing file, a pipe) is refused
/// as too large.
fn read_limited(reader: &mut dyn Read, name: &str, options: &LoadOptions) -> Found {
    let mut bytes = Vec::new();
    let limit = options.max_file_bytes;
    match reader.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
        Err(error) => Found::Problem(diagnostic(format!("cannot read `{name}`: {error}"), None)),
        Ok(_) if bytes.len() as u64 > limit => too_large(name, options),
        Ok(_) => Found::Source(Source {
            name: name.to_owned(),
            bytes,
        }),
    }
}

fn too_large(name: &str, options: &LoadOptions) -> Found {
    Found::Problem(diagnostic(
        format!(
            "`{name}` is larger than the manifest size limit of {} bytes",
            options.max_file_bytes
        ),
        Some("split it into several files, or raise the limit"),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn names(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|found| match found {
                Found::Source(source) => source.name.clone(),
                Found::Problem(diagnostic) => format!("problem: {}", diagnostic.message),
            })
            .collect()
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn discover_paths(inputs: &[Input], options: &LoadOptions) -> Vec<String> {
        names(&discover(inputs, options, &mut io::empty()).collect::<Vec<_>>())
    }

    #[test]
    fn directories_contribute_manifest_files_recursively_in_byte_order() {
        let temporary = tempfile::tempdir().unwrap();
        let root = temporary.path().join("manifests");
        for file in [
            "b.yaml",
            "a/z.yml",
            "a-c.yaml",
            "a/b/c.yaml",
            "notes.txt",
            ".hidden.yaml",
            ".git/x.yaml",
            "B.yaml",
        ] {
            write(&root.join(file), "---\n");
        }
        let found = discover_paths(&[Input::Path(root.clone())], &LoadOptions::default());
        let relative: Vec<String> = found
            .iter()
            .map(|name| name.replace(&format!("{}/", root.display()), ""))
            .collect();
        assert_eq!(
            relative,
            ["B.yaml", "a-c.yaml", "a/b/c.yaml", "a/z.yml", "b.yaml"]
        );
    }

    #[test]
    fn named_files_are_read_whatever_their_name_and_only_once() {
        let temporary = tempfile::tempdir().unwrap();
        let file = temporary.path().join("manifest.txt");
        write(&file, "---\n");
        let found = discover_paths(
            &[Input::Path(file.clone()), Input::Path(file.clone())],
            &LoadOptions::default(),
        );
        assert_eq!(found, [file.display().to_string()]);
    }

    #[test]
    fn missing_paths_and_empty_directories_are_problems() {
        let temporary = tempfile::tempdir().unwrap();
        let missing = temporary.path().join("nope");
        let empty = temporary.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let found = discover_paths(
            &[Input::Path(missing.clone()), Input::Path(empty.clone())],
            &LoadOptions::default(),
        );
        assert_eq!(
            found,
            [
                format!("problem: `{}` does not exist", missing.display()),
                format!(
                    "problem: no `*.yaml` or `*.yml` files in `{}`",
                    empty.display()
                ),
            ]
        );
    }

    #[test]
    fn files_over_the_limit_are_refused_and_the_limit_can_be_raised() {
        let temporary = tempfile::tempdir().unwrap();
        let file = temporary.path().join("big.yaml");
        write(&file, &"#".repeat(100));
        let small = LoadOptions {
            max_file_bytes: 99,
            ..LoadOptions::default()
        };
        assert_eq!(
            discover_paths(&[Input::Path(file.clone())], &small),
            [format!(
                "problem: `{}` is larger than the manifest size limit of 99 bytes",
                file.display()
            )]
        );
        let exact = LoadOptions {
            max_file_bytes: 100,
            ..LoadOptions::default()
        };
        assert_eq!(
            discover_paths(&[Input::Path(file.clone())], &exact),
            [file.display().to_string()]
        );
        let mut stdin: &[u8] = &[b'#'; 100];
        let found: Vec<Found> = discover(&[Input::Stdin], &small, &mut stdin).collect();
        assert_eq!(
            names(&found),
            ["problem: `-` is larger than the manifest size limit of 99 bytes"]
        );
    }

    #[test]
    fn standard_input_is_named_dash_and_read_once() {
        let mut stdin: &[u8] = b"---\n";
        let found: Vec<Found> = discover(
            &[Input::Stdin, Input::Stdin],
            &LoadOptions::default(),
            &mut stdin,
        )
        .collect();
        assert_eq!(
            names(&found),
            ["-", "problem: `-` (standard input) is named more than once"]
        );
        assert_eq!(Input::from_argument("-"), Input::Stdin);
        assert_eq!(
            Input::from_argument("x.yaml"),
            Input::Path(PathBuf::from("x.yaml"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_inside_the_tree_only() {
        use std::os::unix::fs::symlink;
        let temporary = tempfile::tempdir().unwrap();
        let root = temporary.path().join("manifests");
        let outside = temporary.path().join("outside.yaml");
        write(&outside, "---\n");
        write(&root.join("real/a.yaml"), "---\n");
        symlink(root.join("real/a.yaml"), root.join("inside.yaml")).unwrap();
        symlink(root.join("real"), root.join("again")).unwrap();
        symlink(&root, root.join("real/loop")).unwrap();
        symlink(&outside, root.join("escape.yaml")).unwrap();
        symlink(
            temporary.path().join("gone.yaml"),
            root.join("dangling.yaml"),
        )
        .unwrap();
        let found = discover_paths(&[Input::Path(root.clone())], &LoadOptions::default());
        let prefix = format!("{}/", root.display());
        let found: Vec<String> = found
            .iter()
            .map(|name| name.replacen(&prefix, "", 1))
            .collect();
        let outside_text = outside.canonicalize().unwrap().display().to_string();
        assert_eq!(
            found,
            [
                "problem: cannot follow symbolic link `dangling.yaml`: No such file or directory (os error 2)".to_owned(),
                format!(
                    "problem: `escape.yaml` is a symbolic link to `{outside_text}`, outside `{}`; cityform does not follow it",
                    root.display()
                ),
                "again/a.yaml".to_owned(),
            ]
        );
        // The file is reached three ways (in its directory, through a link to it, through a
        // link to its directory) and read once, under the first name in path order; the
        // link back to the root does not loop.
    }
}
