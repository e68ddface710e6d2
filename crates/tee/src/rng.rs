//! The one randomness seam of the workspace: nonces, session ids, content-encryption keys and IVs,
//! and generated keys that are plain bytes (not key pairs) come from an [`Rng`] passed in, so tests
//! can replay a run byte for byte.
//!
//! Binaries construct [`SystemRng`]. Randomness consumed inside crypto libraries (aws-lc key-pair
//! generation, ECDSA signing nonces, ephemeral ECDH keys, TLS handshakes) stays with those libraries:
//! it is not ours to replay and must never be deterministic.

/// The system RNG failed to produce bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RngError;

/// Source of random bytes for security-relevant values.
pub trait Rng: Send + Sync {
    /// Fills `buf` entirely with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RngError>;
}

/// The operating system's CSPRNG (the kernel's `getrandom`), for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RngError> {
        getrandom::getrandom(buf).map_err(|_| RngError)
    }
}

/// A deterministic RNG for tests: block `n` of the output is SHA-256 of the big-endian counter
/// `n`, the counter starting at the seed. Two instances with the same seed give the same bytes.
/// Compiled for tests and with the `testing` feature only, so no release service can use it.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct SeqRng(std::sync::atomic::AtomicU64);

#[cfg(any(test, feature = "testing"))]
impl SeqRng {
    /// Starts the counter at `seed`.
    pub fn new(seed: u64) -> Self {
        SeqRng(std::sync::atomic::AtomicU64::new(seed))
    }
}

#[cfg(any(test, feature = "testing"))]
impl Rng for SeqRng {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RngError> {
        use sha2::Digest;
        for chunk in buf.chunks_mut(32) {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let d = sha2::Sha256::digest(n.to_be_bytes());
            chunk.copy_from_slice(&d[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_rng_replays_and_fills_odd_lengths() {
        let (a, b) = (SeqRng::new(7), SeqRng::new(7));
        let (mut x, mut y) = ([0u8; 45], [0u8; 45]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_eq!(x, y);
        // block n is SHA-256(n): the second block of seed 7 is the first block of seed 8
        let mut other = [0u8; 13];
        SeqRng::new(8).fill(&mut other).unwrap();
        assert_eq!(&other[..], &x[32..]);
        // and the next fill continues with block 9, not block 8 again
        let mut z = [0u8; 13];
        a.fill(&mut z).unwrap();
        assert_ne!(z, other);
    }

    #[test]
    fn system_rng_fills_and_differs() {
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        SystemRng.fill(&mut x).unwrap();
        SystemRng.fill(&mut y).unwrap();
        assert_ne!(x, y);
    }
}
