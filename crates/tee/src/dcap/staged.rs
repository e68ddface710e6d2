//! Staged DCAP verification: collateral and PCK-chain signatures verified once, quote signatures
//! every time.
//!
//! dcap-qvl has no staged API: every call verifies the root and PCK CRL signatures, the TCB info and
//! QE identity signing chain and signatures, and the PCK certificate chain, then the quote-specific
//! signatures (QE report by the PCK leaf, quote body by the attestation key). About 80% of that is
//! ECDSA verifications over bytes that do not change between quotes of one platform.
//!
//! dcap-qvl does let the caller supply the signature algorithm (`dcap_qvl::config::Config`). We give
//! it [`MemoP256`]: ring's ECDSA P-256/SHA-256, plus a cache of signatures that *verified*, keyed by
//! `SHA-256(len‖public key ‖ len‖message ‖ len‖signature)` — the complete input of a pure function,
//! so a hit can only answer for exactly the bytes that verified before (a different CRL, TCB info,
//! QE identity, certificate or chain is a different key and is verified afresh). Nothing in the
//! cache depends on time, so there is no time bucket: every time-dependent check (CRL
//! thisUpdate/nextUpdate, certificate validity, TCB info / QE identity issueDate/nextUpdate,
//! revocation lookups, chain building, TCB level matching, QE identity policy) still runs on every
//! call inside dcap-qvl, with the caller's `now`. Failures are never cached.
//!
//! Per quote, two signatures are never taken from the cache (the thread-local [`Scope`] names them
//! from the parsed quote before dcap-qvl runs): the quote body signature (public key = the quote's
//! attestation key) and the QE report signature (message = the quote's QE report). So the per-quote
//! work is: QE report signature, attestation key binding (QE report data = SHA-256(AK ‖ QE auth
//! data)), quote signature, TCB level matching — the rest is answered by the cache.
//!
//! The cache belongs to a [`crate::dcap::CollateralStore`] ([`SigCache`]); outside a [`Scope`]
//! (any other use of this algorithm) nothing is cached.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use dcap_qvl::config::{Config, CryptoProvider};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use sha2::{Digest, Sha256};

/// Upper bound on cached signatures; the cache is emptied when it is reached (a platform needs
/// about ten entries, so this covers hundreds of platforms).
pub const SIG_CACHE_CAPACITY: usize = 8192;

/// Signatures that verified, keyed by SHA-256 over (public key, message, signature).
#[derive(Debug, Default)]
pub struct SigCache {
    set: Mutex<HashSet<[u8; 32]>>,
}

impl SigCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The explicit cache key: SHA-256 of the length-prefixed public key, message and signature.
    pub fn key(public_key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"tee/dcap/p256-sha256-verified/v1");
        for part in [public_key, message, signature] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    fn contains(&self, k: &[u8; 32]) -> bool {
        self.set.lock().map(|s| s.contains(k)).unwrap_or(false)
    }

    fn insert(&self, k: [u8; 32]) {
        if let Ok(mut s) = self.set.lock() {
            if s.len() >= SIG_CACHE_CAPACITY {
                s.clear();
            }
            s.insert(k);
        }
    }

    pub fn len(&self) -> usize {
        self.set.lock().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        if let Ok(mut s) = self.set.lock() {
            s.clear();
        }
    }
}

/// What the current thread's verification may take from the cache.
struct ScopeState {
    cache: Arc<SigCache>,
    /// SEC1 uncompressed attestation key of the quote being verified (never cached).
    quote_key: Vec<u8>,
    /// The quote's QE report (its signature is never cached).
    qe_report: Vec<u8>,
    hits: u64,
    misses: u64,
}

thread_local! {
    static SCOPE: RefCell<Option<ScopeState>> = const { RefCell::new(None) };
}

/// Installs a cache for the duration of one dcap-qvl call on this thread; removed on drop.
pub(crate) struct Scope(());

impl Scope {
    pub(crate) fn enter(cache: Arc<SigCache>, attestation_key: &[u8], qe_report: &[u8]) -> Scope {
        let mut quote_key = Vec::with_capacity(65);
        quote_key.push(0x04);
        quote_key.extend_from_slice(attestation_key);
        SCOPE.with(|s| {
            *s.borrow_mut() = Some(ScopeState { cache, quote_key, qe_report: qe_report.to_vec(), hits: 0, misses: 0 })
        });
        Scope(())
    }

    /// (cache hits, fresh verifications) so far in this scope.
    pub(crate) fn stats(&self) -> (u64, u64) {
        SCOPE.with(|s| s.borrow().as_ref().map(|st| (st.hits, st.misses)).unwrap_or((0, 0)))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        SCOPE.with(|s| *s.borrow_mut() = None);
    }
}

/// ECDSA P-256 / SHA-256 (ring, as dcap-qvl's audited `RingCrypto`) with the verified-signature cache.
#[derive(Debug)]
pub struct MemoP256;

static MEMO_P256: MemoP256 = MemoP256;

fn inner() -> &'static dyn SignatureVerificationAlgorithm {
    <dcap_qvl::crypto::RingCrypto as CryptoProvider>::sig_algo()
}

impl SignatureVerificationAlgorithm for MemoP256 {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        // Decide whether this signature may come from the cache (and get the cache) without holding
        // the thread-local borrow across the actual verification.
        let cache = SCOPE.with(|s| {
            let s = s.borrow();
            let st = s.as_ref()?;
            if public_key == st.quote_key.as_slice() || message == st.qe_report.as_slice() {
                None
            } else {
                Some(st.cache.clone())
            }
        });
        let Some(cache) = cache else {
            return inner().verify_signature(public_key, message, signature);
        };
        let k = SigCache::key(public_key, message, signature);
        if cache.contains(&k) {
            SCOPE.with(|s| {
                if let Some(st) = s.borrow_mut().as_mut() {
                    st.hits += 1;
                }
            });
            return Ok(());
        }
        inner().verify_signature(public_key, message, signature)?;
        cache.insert(k);
        SCOPE.with(|s| {
            if let Some(st) = s.borrow_mut().as_mut() {
                st.misses += 1;
            }
        });
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        inner().public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        inner().signature_alg_id()
    }
}

/// dcap-qvl crypto provider: [`MemoP256`] and ring's hashes.
pub struct MemoCrypto;

impl CryptoProvider for MemoCrypto {
    fn sig_algo() -> &'static dyn SignatureVerificationAlgorithm {
        &MEMO_P256
    }

    fn sha256(data: &[u8]) -> [u8; 32] {
        <dcap_qvl::crypto::RingCrypto as CryptoProvider>::sha256(data)
    }

    fn sha384(data: &[u8]) -> [u8; 48] {
        <dcap_qvl::crypto::RingCrypto as CryptoProvider>::sha384(data)
    }
}

/// dcap-qvl's audited X.509 parser and signature encoder with [`MemoCrypto`].
pub struct StagedConfig;

impl Config for StagedConfig {
    type X509 = dcap_qvl::x509::X509CertBackend;
    type SigEncoder = dcap_qvl::signature::DerSigEncoder;
    type Crypto = MemoCrypto;
}
