//! Reading the files a config names (itself, its shadow policy, key and
//! certificate files) with a size cap, so that a path that points at
//! `/dev/zero`, a log file or a disk image is an error with its name rather
//! than a hang or an out-of-memory kill of `check` or `serve`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// The largest config or shadow policy file read (a policy of thousands of
/// rules is well under 1 MiB).
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// The largest key or certificate file read (a PEM chain of a dozen
/// certificates is about 20 KiB).
pub(crate) const MAX_KEY_BYTES: u64 = 1 << 20;

/// SHA-256 of a file's content: what a compiled config records of each file it
/// read ([`super::InputFile`]) and what live reload compares it with.
pub fn content_digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The whole file at `path`, refused when larger than `limit` bytes.
pub(crate) fn read_capped(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} KiB; is this the right file?", limit / 1024),
        ));
    }
    Ok(bytes)
}

/// [`read_capped`] as UTF-8 text.
pub(crate) fn read_text_capped(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_past_the_cap_are_refused_and_endless_ones_end() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"0123456789").unwrap();
        assert_eq!(read_capped(&small, 10).unwrap().len(), 10);
        let err = read_capped(&small, 9).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("larger than"), "{err}");
        let endless = read_capped(Path::new("/dev/zero"), MAX_KEY_BYTES).unwrap_err();
        assert!(endless.to_string().contains("larger than 1024 KiB"), "{endless}");
        std::fs::write(&small, [0xff, 0xfe]).unwrap();
        assert!(read_text_capped(&small, 10).is_err());
    }
}
