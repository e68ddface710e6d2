//! Intel DCAP (SGX and TDX ECDSA quotes), shared by [`crate::sgx`] and [`crate::tdx`].
//!
//! Quote verification is done by the `dcap-qvl` crate (pure Rust, ring backend). This module adds
//! what a relying party needs around it: collateral loaded from files and cached under an explicit
//! key ([`CollateralKey`]: quote kind + FMSPC), an injected verification time, a configurable root
//! CA (Intel's production root by default), and typed errors.

mod collateral;
pub mod staged;

pub use collateral::{rfc3339 as collateral_time, Collateral, CollateralKey, CollateralStore, QuoteKind};
pub use staged::SigCache;

use std::sync::Arc;

use dcap_qvl::quote::Quote;
use dcap_qvl::verify::QuoteVerifier;

use crate::{Error, Tee};

/// Intel SGX root CA (DER), as shipped by dcap-qvl. Quotes chain to it.
pub const INTEL_ROOT_CA_DER: &[u8] = include_bytes!("intel_sgx_root_ca.der");

/// A parsed quote and what a successful verification established.
#[derive(Debug, Clone)]
pub struct VerifiedQuote {
    pub version: u16,
    pub kind: QuoteKind,
    pub fmspc: String,
    /// TCB status from the collateral (`UpToDate`, `SWHardeningNeeded`, ...).
    pub tcb_status: String,
    pub advisory_ids: Vec<String>,
    pub report: dcap_qvl::quote::Report,
}

/// Parses a raw quote (no signature checks). Used by mutation tests and by the CLI for display.
pub fn parse_quote(tee: Tee, raw: &[u8]) -> Result<Quote, Error> {
    Quote::parse(raw).map_err(|e| Error::malformed(tee, format!("quote does not parse: {e:#}")))
}

/// Quote kind from the header (SGX or TDX), rejecting anything else.
pub fn quote_kind(tee: Tee, quote: &Quote) -> Result<QuoteKind, Error> {
    match quote.header.tee_type {
        0x0000_0000 => Ok(QuoteKind::Sgx),
        0x0000_0081 => Ok(QuoteKind::Tdx),
        t => Err(Error::Unsupported { tee, reason: format!("quote TEE type {t:#x}") }),
    }
}

/// The collateral key a quote needs: its kind and the FMSPC in its PCK certificate.
pub fn collateral_key_for(tee: Tee, quote: &Quote) -> Result<CollateralKey, Error> {
    let kind = quote_kind(tee, quote)?;
    let fmspc = dcap_qvl::intel::quote_fmspc(quote)
        .map_err(|e| Error::malformed(tee, format!("no FMSPC in the quote's PCK certificate: {e:#}")))?;
    Ok(CollateralKey { kind, fmspc: hex::encode_upper(fmspc) })
}

/// Verifies a raw DCAP quote (v3 SGX, v4/v5 TDX) against cached collateral at time `now` (unix
/// seconds). The quote must be of kind `want`.
pub fn verify_quote(
    tee: Tee,
    want: QuoteKind,
    raw: &[u8],
    store: &CollateralStore,
    now: u64,
) -> Result<VerifiedQuote, Error> {
    verify_quote_with(tee, want, raw, store, now, TdAttributePolicy::default())
}

/// TD attribute rules applied after the quote, its chain and collateral verified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TdAttributePolicy {
    /// Accept a TD whose SEPT_VE_DISABLE attribute (bit 28) is clear. dcap-qvl refuses such TDs
    /// as its *last* step, after every signature, chain, CRL, collateral-time, QE identity and TCB
    /// level check (including the Revoked refusal) passed; Intel's QVL does not check the bit.
    /// Azure TDX confidential VMs run under a paravisor and never set it (see
    /// [`crate::az_tdx_vtpm`]). In that case dcap-qvl does not return the TCB status, so the
    /// result says `tcb_status: "Unknown"` (a non-revoked level was matched).
    pub allow_sept_ve_enabled: bool,
}

/// TCB status reported when dcap-qvl verified everything but did not return the status (see
/// [`TdAttributePolicy::allow_sept_ve_enabled`]).
pub const TCB_STATUS_UNKNOWN: &str = "Unknown";

/// dcap-qvl 0.7.1's error for a TD without SEPT_VE_DISABLE (its last check, `validate_attrs`).
const DCAP_QVL_SEPT_VE_ERROR: &str = "SEPT_VE_DISABLE is not enabled";

/// TD attributes bit 28: SEPT_VE_DISABLE.
pub const TD_ATTR_SEPT_VE_DISABLE: u64 = 1 << 28;

/// [`verify_quote`] with explicit TD attribute rules.
pub fn verify_quote_with(
    tee: Tee,
    want: QuoteKind,
    raw: &[u8],
    store: &CollateralStore,
    now: u64,
    attrs: TdAttributePolicy,
) -> Result<VerifiedQuote, Error> {
    let quote = parse_quote(tee, raw)?;
    let kind = quote_kind(tee, &quote)?;
    if kind != want {
        return Err(Error::malformed(tee, format!("quote is a {kind:?} quote, expected {want:?}")));
    }
    let key = collateral_key_for(tee, &quote)?;
    let coll = store.get(&key).ok_or_else(|| Error::CollateralMissing { tee, key: key.to_string() })?;
    let rep = match store.sig_cache() {
        Some(cache) => {
            // Staged path: collateral / PCK-chain signatures from the store's verified-signature
            // cache, quote-specific signatures always verified (see `staged`).
            let auth = quote.auth_data.clone().into_v3();
            let _scope = staged::Scope::enter(cache, &auth.ecdsa_attestation_key, &auth.qe_report);
            QuoteVerifier::<staged::StagedConfig>::new_with_config(store.root_ca_der().to_vec()).verify(
                raw,
                coll.inner(),
                now,
            )
        }
        None => QuoteVerifier::new(store.root_ca_der().to_vec()).verify(raw, coll.inner(), now),
    };
    let rep = match rep {
        Ok(r) => r,
        Err(e) if attrs.allow_sept_ve_enabled && format!("{e:#}") == DCAP_QVL_SEPT_VE_ERROR => {
            // Every check but the attribute rule passed (dcap-qvl checks attributes last).
            let td = quote.report.as_td10().ok_or_else(|| classify(tee, now, &e))?;
            if u64::from_le_bytes(td.td_attributes) & TD_ATTR_SEPT_VE_DISABLE != 0 {
                return Err(classify(tee, now, &e));
            }
            return Ok(VerifiedQuote {
                version: quote.header.version,
                kind,
                fmspc: key.fmspc,
                tcb_status: TCB_STATUS_UNKNOWN.into(),
                advisory_ids: Vec::new(),
                report: quote.report,
            });
        }
        Err(e) => return Err(classify(tee, now, &e)),
    };
    if rep.status == "Revoked" {
        return Err(Error::Revoked { tee, reason: "TCB status of the platform is Revoked".into() });
    }
    Ok(VerifiedQuote {
        version: quote.header.version,
        kind,
        fmspc: key.fmspc,
        tcb_status: rep.status,
        advisory_ids: rep.advisory_ids,
        report: rep.report,
    })
}

/// Counts of cached and freshly verified signatures in one staged verification (tests).
#[doc(hidden)]
pub fn staged_stats_for(tee: Tee, raw: &[u8], store: &CollateralStore, now: u64) -> Result<(u64, u64), Error> {
    let quote = parse_quote(tee, raw)?;
    let key = collateral_key_for(tee, &quote)?;
    let coll = store.get(&key).ok_or_else(|| Error::CollateralMissing { tee, key: key.to_string() })?;
    let cache = store.sig_cache().unwrap_or_else(|| Arc::new(SigCache::new()));
    let auth = quote.auth_data.clone().into_v3();
    let scope = staged::Scope::enter(cache, &auth.ecdsa_attestation_key, &auth.qe_report);
    QuoteVerifier::<staged::StagedConfig>::new_with_config(store.root_ca_der().to_vec())
        .verify(raw, coll.inner(), now)
        .map_err(|e| classify(tee, now, &e))?;
    Ok(scope.stats())
}

/// Maps dcap-qvl's error chain to a precise variant. The text (`{:#}`: the whole chain) is kept as
/// the reason. Generic so this crate does not depend on the error library dcap-qvl uses.
fn classify(tee: Tee, now: u64, e: &impl std::fmt::Display) -> Error {
    let reason = format!("{e:#}");
    let r = reason.to_ascii_lowercase();
    let has = |s: &str| r.contains(s);
    if has("root ca crl") && has("signature") {
        // The root CRL is the first thing checked against the configured root: a CRL Intel's root
        // signed does not verify under another root.
        Error::UntrustedChain { tee, reason }
    } else if has("revoked") {
        Error::Revoked { tee, reason }
    } else if has("expired") || has("in the future") || has("not valid yet") || has("notvalidyet") || has("nextupdate")
    {
        Error::CollateralExpired { tee, at: now, reason }
    } else if has("for tcb_info")
        || has("for qe_identity")
        || has("fmspc mismatch")
        || has("non-tdx tcb info")
        || has("non-sgx tcb info")
        || has("decode tcbinfo")
        || has("decode qe identity")
        || has("crl") && !has("pck certificate")
    {
        Error::CollateralInvalid { tee, reason }
    } else if has("unknownissuer")
        || has("unknown issuer")
        || has("certificate chain")
        || has("invalid pck")
        || has("badsignature")
        || has("trust anchor")
        || has("issuer")
    {
        Error::UntrustedChain { tee, reason }
    } else if has("signature is invalid for qe_report") || has("qe report hash mismatch") {
        Error::BadSignature { tee, what: "QE report / attestation key binding".into(), reason }
    } else if has("report signature is invalid") || has("signature") {
        Error::BadSignature { tee, what: "quote body".into(), reason }
    } else if has("no matching tcb level")
        || has("debug")
        || has("tcb")
        || has("sept_ve_disable")
        || has("td migration")
        || has("servtd")
        || has("service td")
        || has("profiling")
    {
        Error::Policy { tee, reason }
    } else {
        Error::Malformed { tee, reason }
    }
}
