//! The toolchain's one content hash, FNV-1a 64: the target description's hash that pins a
//! configuration to its target, the configuration's payload checksum, and the digest of a
//! model file that pins a configuration to its model. It catches edits and damage, not an
//! adversary (it is not a cryptographic hash).

use std::io::Write;

/// FNV-1a 64 as an `io::Write` sink, so a serializer can hash without allocating.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hasher with nothing hashed yet.
    pub fn new() -> Self {
        Self(Self::OFFSET)
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// The hash of everything added.
    pub fn finish(&self) -> u64 {
        self.0
    }

    /// FNV-1a 64 of `bytes`.
    pub fn hash_bytes(bytes: &[u8]) -> u64 {
        let mut h = Self::new();
        h.update(bytes);
        h.finish()
    }
}

impl Write for Fnv1a64 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_vectors_and_hashes_in_pieces_as_whole() {
        // From the FNV reference (draft-eastlake-fnv): "", "a", "foobar".
        assert_eq!(Fnv1a64::hash_bytes(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv1a64::hash_bytes(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Fnv1a64::hash_bytes(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv1a64::new();
        h.update(b"foo");
        let _ = h.write_all(b"bar");
        assert_eq!(h.finish(), Fnv1a64::hash_bytes(b"foobar"));
    }
}
