#!/bin/sh
# Installs a released cityform binary: downloads the archive built for this system and the
# release's SHA256SUMS, checks the archive against it, and only then puts `cityform` in place.
# A missing or wrong checksum installs nothing.
#
#   install.sh [--version X.Y.Z] [--to DIR] [--base-url URL]
#
#   --version X.Y.Z  the release to install; default: the latest release
#   --to DIR         the directory to put `cityform` in; default: ~/.local/bin
#   --base-url URL   where the releases are; default: CITYFORM_INSTALL_BASE_URL, else the
#                    GitHub releases of the repository that published this copy of the script.
#                    A release's files are at URL/download/vX.Y.Z/FILE and the latest one's
#                    at URL/latest/download/FILE, as GitHub serves them, so a mirror keeps
#                    that layout.
#
# Needs curl (or wget), tar, gzip, and sha256sum (or shasum). See docs/ci.md, "Installing
# cityform".
set -eu

# OWNER/NAME of the GitHub repository whose releases this copy installs from. The release
# workflow writes it into the copy it attaches to each release; this checked-in copy has
# none, and needs --base-url or CITYFORM_INSTALL_BASE_URL.
release_repository=""

usage() {
  cat <<'USAGE'
Installs a released cityform binary, after checking it against the release's SHA256SUMS.

Usage: install.sh [--version X.Y.Z] [--to DIR] [--base-url URL]

  --version X.Y.Z  the release to install; default: the latest release
  --to DIR         the directory to put `cityform` in; default: ~/.local/bin
  --base-url URL   where the releases are (URL/download/vX.Y.Z/FILE); default:
                   CITYFORM_INSTALL_BASE_URL, else the GitHub releases of the repository
                   that published this script
USAGE
}

fail() {
  printf 'error: %s\n' "$1" >&2
  exit 1
}

usage_error() {
  printf 'error: %s\n\n' "$1" >&2
  usage >&2
  exit 2
}

version=""
to=""
base_url="${CITYFORM_INSTALL_BASE_URL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --version | --to | --base-url)
      [ $# -ge 2 ] || usage_error "\`$1\` needs a value"
      case "$1" in
        --version) version="$2" ;;
        --to) to="$2" ;;
        --base-url) base_url="$2" ;;
      esac
      shift 2
      ;;
    --version=*) version="${1#--version=}"; shift ;;
    --to=*) to="${1#--to=}"; shift ;;
    --base-url=*) base_url="${1#--base-url=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument \`$1\`" ;;
  esac
done

# ---------------------------------------------------------------- what to fetch, and from where

version="${version#v}"
case "$version" in
  *[!0-9A-Za-z.+-]*) usage_error "\`$version\` is not a version: give one such as \`0.1.0\`" ;;
esac

if [ -z "$base_url" ]; then
  [ -n "$release_repository" ] || fail "no release location: pass --base-url URL or set \
CITYFORM_INSTALL_BASE_URL (the install.sh attached to a release knows its own repository)"
  base_url="https://github.com/$release_repository/releases"
fi
base_url="${base_url%/}"

if [ -z "$to" ]; then
  [ -n "${HOME:-}" ] || fail "no home directory (HOME is not set): pass --to DIR"
  to="$HOME/.local/bin"
fi

case "$(uname -m)" in
  x86_64 | amd64) architecture=x86_64 ;;
  aarch64 | arm64) architecture=aarch64 ;;
  *) fail "there is no released cityform for the \`$(uname -m)\` processor: build it from \
source with cargo (docs/getting-started.md)" ;;
esac
case "$(uname -s)" in
  Linux) target="$architecture-unknown-linux-gnu" ;;
  Darwin) target="$architecture-apple-darwin" ;;
  *) fail "there is no released cityform for \`$(uname -s)\`: build it from source with \
cargo (docs/getting-started.md)" ;;
esac

# ---------------------------------------------------------------- tools

if command -v curl >/dev/null 2>&1; then
  download() { curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  download() { wget --quiet --output-document="$2" "$1"; }
else
  fail "neither curl nor wget is installed: one is needed to download cityform"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_of() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  fail "neither sha256sum nor shasum is installed: the download cannot be checked, so \
nothing is installed"
fi

# ---------------------------------------------------------------- download and check

work="$(mktemp -d 2>/dev/null || mktemp -d -t cityform-install)"
staged=""
cleanup() {
  rm -rf "$work"
  if [ -n "$staged" ]; then rm -f "$staged"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "$version" ]; then
  release_url="$base_url/download/v$version"
else
  release_url="$base_url/latest/download"
fi

sums="$work/SHA256SUMS"
download "$release_url/SHA256SUMS" "$sums" \
  || fail "could not download the checksums \`$release_url/SHA256SUMS\`: nothing was installed"

# The second field of each line is a file name, with a `*` before it in binary mode.
listed_files() {
  awk '{ name = $2; sub(/^\*/, "", name); print name }' "$sums"
}

if [ -z "$version" ]; then
  archive_name="$(listed_files | grep -x "cityform-.*-$target\.tar\.gz" || true)"
  case "$archive_name" in
    "") fail "the latest release has no cityform for \`$target\` (\`$release_url/SHA256SUMS\` \
lists none): nothing was installed" ;;
    *"
"*) fail "\`$release_url/SHA256SUMS\` lists more than one archive for \`$target\`: \
nothing was installed" ;;
  esac
  version="${archive_name#cityform-}"
  version="${version%-"$target".tar.gz}"
else
  archive_name="cityform-$version-$target.tar.gz"
fi

expected="$(awk -v file="$archive_name" '{ name = $2; sub(/^\*/, "", name); if (name == file) print $1 }' "$sums")"
case "$expected" in
  "") fail "\`$release_url/SHA256SUMS\` has no checksum for \`$archive_name\`: nothing was \
installed" ;;
  *[!0-9A-Fa-f]*) fail "\`$release_url/SHA256SUMS\` does not hold exactly one SHA-256 for \
\`$archive_name\`: nothing was installed" ;;
esac
[ "${#expected}" -eq 64 ] || fail "\`$release_url/SHA256SUMS\` has no valid SHA-256 for \
\`$archive_name\`: nothing was installed"
expected="$(printf '%s' "$expected" | tr 'A-F' 'a-f')"

archive="$work/$archive_name"
download "$release_url/$archive_name" "$archive" \
  || fail "could not download \`$release_url/$archive_name\` (is $version released, with a \
build for $target?): nothing was installed"

actual="$(sha256_of "$archive")"
[ "$actual" = "$expected" ] || fail "the checksum of \`$archive_name\` does not match \
SHA256SUMS (expected $expected, got $actual): the download is damaged or not what was \
released; nothing was installed"

# ---------------------------------------------------------------- unpack, try, install

mkdir "$work/unpacked"
tar -xzf "$archive" -C "$work/unpacked" \
  || fail "\`$archive_name\` could not be unpacked: nothing was installed"
binary="$work/unpacked/cityform-$version-$target/cityform"
[ -f "$binary" ] || fail "\`$archive_name\` holds no \`cityform-$version-$target/cityform\`: \
nothing was installed"
chmod 755 "$binary"
if ! tried="$("$binary" --version 2>&1)"; then
  fail "the downloaded cityform does not run on this system ($tried): nothing was installed"
fi

mkdir -p "$to" || fail "cannot create \`$to\`: nothing was installed"
# Copied next to its destination first and renamed over it, so that `cityform` in DIR is
# always either the old binary or the whole new one.
staged="$to/.cityform.install.$$"
cp "$binary" "$staged" || fail "cannot write to \`$to\`: nothing was installed"
chmod 755 "$staged"
mv -f "$staged" "$to/cityform" || fail "cannot replace \`$to/cityform\`: nothing was installed"
staged=""

printf 'Installed %s (%s) at %s\n' "$tried" "$target" "$to/cityform"
case ":${PATH:-}:" in
  *":$to:"*) ;;
  *) printf 'Note: %s is not on PATH.\n' "$to" ;;
esac
