//! What kind of file a path is, in words: cityform reads only regular files it is given
//! (manifests, states, saved plans), and refuses a FIFO, a device or a socket by name
//! before opening it, since reading one can block forever or never end.

use std::fs;

/// What a file is, in words, when it is neither a regular file nor a directory.
pub fn special_kind(file_type: &fs::FileType) -> Option<&'static str> {
    if file_type.is_file() || file_type.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    Some("a special file")
}
