//! RCAR sessions: a typed state per session, an expiry, and a table whose limits an
//! unauthenticated caller cannot turn into a lockout.
//!
//! Why the table is shaped this way (issue 13, item 9): `auth` is public and cheap, so anyone can
//! open sessions faster than they expire. A single count limit that answers 503 when reached lets
//! a flood of bare `auth` calls lock every attester out for a whole session timeout. Instead:
//!
//! - **Unattested** (`Challenged`) sessions have their own count limit (`--max-sessions`). When it
//!   is reached, the *oldest* unattested session is evicted, so `auth` always succeeds and a fresh
//!   challenge survives the next `max_unattested` auths (at a flood of R auths/s, that is
//!   `max_unattested / R` seconds to send the evidence: 100000 / 20000 = 5 s with the defaults).
//! - **Attesting** sessions (evidence received, being verified) leave the eviction queue and
//!   take a slot from a separate reserve, so a flood cannot evict a session while its evidence
//!   is checked. The reserve is `max(16, max_unattested / 8)` concurrent verifications.
//! - **Attested** sessions are bounded by bytes (`--max-attested-session-bytes`), not only by
//!   count, since each keeps its token and claims; when over budget the oldest attested sessions
//!   are evicted (their clients still hold the token for `Authorization: Bearer`, or re-run RCAR
//!   on the 401). Only a caller with accepted evidence can add to this budget.
//!
//! One mutex guards the table: each operation is a hash lookup plus a queue push/pop, a few
//! hundred nanoseconds, far below the per-request crypto, and it keeps the counters exact.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use kbs_protocol::jwk::TeePubKey;
use tee::Tee;

use crate::Error;

/// What the session has achieved so far. Transitions: `Challenged` → `Attested`; nothing else.
#[derive(Debug, Clone)]
pub enum SessionState {
    /// `auth` answered with this nonce; waiting for evidence.
    Challenged { tee: Tee, nonce: String },
    /// Evidence accepted; the token and what it says are kept for resource requests. The claims
    /// are kept only as the Rego value the resource policy reads (converted once, at attest time).
    Attested { token: Arc<str>, claims: regorus::Value, tee_pubkey: Arc<TeePubKey> },
}

impl SessionState {
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::Challenged { .. } => "challenged",
            SessionState::Attested { .. } => "attested",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub state: SessionState,
    pub expires: SystemTime,
}

/// What an attested session is charged against `max_attested_bytes`: its token (which carries
/// the claims, base64url-encoded) four times over, for the claims kept as a Rego value (a tree of
/// reference-counted nodes, measured at 2-3x the JSON size), plus the fixed part (id, key, map
/// and queue entries).
const ATTESTED_FIXED_BYTES: usize = 1024;
const ATTESTED_BYTES_PER_TOKEN_BYTE: usize = 4;

pub fn attested_cost(state: &SessionState) -> usize {
    match state {
        SessionState::Attested { token, .. } => ATTESTED_FIXED_BYTES + ATTESTED_BYTES_PER_TOKEN_BYTE * token.len(),
        SessionState::Challenged { .. } => 0,
    }
}

#[derive(Debug)]
struct Entry {
    /// Which queue entry is current for this session (queue entries with another `seq` are stale).
    seq: u64,
    session: Session,
    /// Evidence is being verified: not evictable, counted in the reserve.
    attesting: bool,
    /// Charged against the attested budget.
    bytes: usize,
}

#[derive(Debug, Default)]
struct Table {
    map: HashMap<String, Entry>,
    /// Unattested sessions, oldest first (may hold stale entries; see `Entry::seq`).
    challenged: VecDeque<(u64, String)>,
    /// Attested sessions, oldest first (may hold stale entries).
    attested: VecDeque<(u64, String)>,
    n_challenged: usize,
    n_attesting: usize,
    n_attested: usize,
    attested_bytes: usize,
    next_seq: u64,
    evicted: u64,
}

impl Table {
    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn forget(&mut self, e: &Entry) {
        match (&e.session.state, e.attesting) {
            (SessionState::Challenged { .. }, false) => self.n_challenged -= 1,
            (SessionState::Challenged { .. }, true) => self.n_attesting -= 1,
            (SessionState::Attested { .. }, _) => {
                self.n_attested -= 1;
                self.attested_bytes -= e.bytes;
            }
        }
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let e = self.map.remove(id)?;
        self.forget(&e);
        Some(e)
    }

    /// Evicts the oldest evictable unattested session; false if there is none.
    fn evict_oldest_challenged(&mut self) -> bool {
        while let Some((seq, id)) = self.challenged.pop_front() {
            let live = matches!(self.map.get(&id), Some(e) if e.seq == seq && !e.attesting
                && matches!(e.session.state, SessionState::Challenged { .. }));
            if live {
                self.remove(&id);
                self.evicted += 1;
                return true;
            }
        }
        false
    }

    /// Evicts the oldest attested session other than `keep`; false if there is none.
    fn evict_oldest_attested(&mut self, keep: &str) -> bool {
        while let Some((seq, id)) = self.attested.front().cloned() {
            if id == keep {
                return false;
            }
            self.attested.pop_front();
            let live = matches!(self.map.get(&id), Some(e) if e.seq == seq
                && matches!(e.session.state, SessionState::Attested { .. }));
            if live {
                self.remove(&id);
                self.evicted += 1;
                return true;
            }
        }
        false
    }

    /// Drops stale queue entries once they outnumber the live ones (amortised O(1) per insert).
    fn compact(&mut self) {
        let Table { map, challenged, attested, n_challenged, n_attested, .. } = self;
        if challenged.len() > 2 * *n_challenged + 1024 {
            challenged.retain(|(seq, id)| {
                matches!(map.get(id), Some(e) if e.seq == *seq && !e.attesting
                && matches!(e.session.state, SessionState::Challenged { .. }))
            });
        }
        if attested.len() > 2 * *n_attested + 1024 {
            attested.retain(|(seq, id)| {
                matches!(map.get(id), Some(e) if e.seq == *seq
                && matches!(e.session.state, SessionState::Attested { .. }))
            });
        }
    }
}

/// All open sessions.
pub struct SessionMap {
    table: Mutex<Table>,
    timeout: Duration,
    max_unattested: usize,
    max_attesting: usize,
    max_attested_bytes: usize,
}

/// A session whose evidence is being verified: pinned (not evictable) until [`Attesting::finish`]
/// or drop (a failed attestation puts it back, as the newest unattested session).
pub struct Attesting<'a> {
    map: &'a SessionMap,
    id: String,
    seq: u64,
    done: bool,
}

/// What [`SessionMap::begin_attest`] found.
pub enum AttestStart<'a> {
    /// `Challenged`: verify evidence for this TEE and nonce, then call `finish`.
    Challenged { tee: Tee, nonce: String, pin: Attesting<'a> },
    /// Already attested: the stored session.
    Attested(Session),
}

impl SessionMap {
    /// `max_unattested` ≥ 1 unattested sessions (oldest evicted beyond it), attested sessions up
    /// to `max_attested_bytes` (see [`attested_cost`]).
    pub fn new(timeout: Duration, max_unattested: usize, max_attested_bytes: usize) -> Self {
        SessionMap {
            table: Mutex::new(Table::default()),
            timeout,
            max_unattested: max_unattested.max(1),
            max_attesting: (max_unattested / 8).max(16),
            max_attested_bytes,
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sessions evicted to make room so far.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    /// Opens a session in `Challenged`, evicting the oldest unattested session if the table is
    /// full; returns its expiry.
    pub fn insert(&self, id: String, tee: Tee, nonce: String, now: SystemTime) -> Result<SystemTime, Error> {
        let expires = now + self.timeout;
        let mut t = self.lock();
        t.remove(&id);
        while t.n_challenged >= self.max_unattested {
            if !t.evict_oldest_challenged() {
                break;
            }
        }
        let seq = t.seq();
        t.challenged.push_back((seq, id.clone()));
        t.map.insert(
            id,
            Entry {
                seq,
                session: Session { state: SessionState::Challenged { tee, nonce }, expires },
                attesting: false,
                bytes: 0,
            },
        );
        t.n_challenged += 1;
        t.compact();
        Ok(expires)
    }

    /// The live session, or `SessionNotFound` / `SessionExpired` (an expired one is removed).
    pub fn get(&self, id: &str, now: SystemTime) -> Result<Session, Error> {
        let mut t = self.lock();
        let e = t.map.get(id).ok_or(Error::SessionNotFound)?;
        if e.session.expires <= now {
            t.remove(id);
            return Err(Error::SessionExpired);
        }
        Ok(e.session.clone())
    }

    /// Evidence arrived for session `id`: an attested session is returned as is; a challenged one
    /// is pinned (taken out of the eviction queue, into the reserve) while its evidence is checked.
    pub fn begin_attest(&self, id: &str, now: SystemTime) -> Result<AttestStart<'_>, Error> {
        let mut t = self.lock();
        let e = t.map.get(id).ok_or(Error::SessionNotFound)?;
        if e.session.expires <= now {
            t.remove(id);
            return Err(Error::SessionExpired);
        }
        let (tee, nonce) = match &e.session.state {
            SessionState::Attested { .. } => return Ok(AttestStart::Attested(e.session.clone())),
            SessionState::Challenged { .. } if e.attesting => {
                return Err(Error::IllegalTransition { state: "attesting", action: "attest" })
            }
            SessionState::Challenged { tee, nonce } => (*tee, nonce.clone()),
        };
        if t.n_attesting >= self.max_attesting {
            return Err(Error::TooManySessions(self.max_attesting));
        }
        let seq = t.seq();
        if let Some(e) = t.map.get_mut(id) {
            e.attesting = true;
            e.seq = seq;
        }
        t.n_challenged -= 1;
        t.n_attesting += 1;
        Ok(AttestStart::Challenged { tee, nonce, pin: Attesting { map: self, id: id.to_string(), seq, done: false } })
    }

    /// Attesting → unattested again (verification failed): the newest in the eviction queue.
    fn unpin(&self, id: &str, seq: u64) {
        let mut t = self.lock();
        let new_seq = t.seq();
        let Some(e) = t.map.get_mut(id) else { return };
        if e.seq != seq || !e.attesting {
            return;
        }
        e.attesting = false;
        e.seq = new_seq;
        t.n_attesting -= 1;
        t.n_challenged += 1;
        t.challenged.push_back((new_seq, id.to_string()));
        while t.n_challenged > self.max_unattested {
            if !t.evict_oldest_challenged() {
                break;
            }
        }
    }
}

impl Attesting<'_> {
    /// `Attesting` → `Attested`; evicts the oldest other attested sessions while over the byte
    /// budget. Fails only if the session expired meanwhile.
    pub fn finish(mut self, next: SessionState, now: SystemTime) -> Result<SystemTime, Error> {
        self.done = true;
        let map = self.map;
        let mut t = map.lock();
        let new_seq = t.seq();
        let e = match t.map.get_mut(&self.id) {
            Some(e) if e.seq == self.seq && e.attesting => e,
            _ => return Err(Error::SessionNotFound),
        };
        if e.session.expires <= now {
            t.remove(&self.id);
            return Err(Error::SessionExpired);
        }
        let bytes = attested_cost(&next);
        e.session.state = next;
        e.attesting = false;
        e.seq = new_seq;
        e.bytes = bytes;
        let expires = e.session.expires;
        t.n_attesting -= 1;
        t.n_attested += 1;
        t.attested_bytes += bytes;
        t.attested.push_back((new_seq, self.id.clone()));
        while t.attested_bytes > map.max_attested_bytes {
            if !t.evict_oldest_attested(&self.id) {
                break;
            }
        }
        t.compact();
        Ok(expires)
    }
}

impl Drop for Attesting<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.map.unpin(&self.id, self.seq);
        }
    }
}

impl SessionMap {
    /// Drops every expired session; returns how many.
    pub fn cleanup(&self, now: SystemTime) -> usize {
        let mut t = self.lock();
        let expired: Vec<String> =
            t.map.iter().filter(|(_, e)| e.session.expires <= now && !e.attesting).map(|(k, _)| k.clone()).collect();
        for id in &expired {
            t.remove(id);
        }
        t.compact();
        expired.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attested(token_len: usize) -> SessionState {
        SessionState::Attested {
            token: "t".repeat(token_len).into(),
            claims: regorus::Value::Null,
            tee_pubkey: Arc::new(TeePubKey::Rsa { alg: "x".into(), n: "n".into(), e: "e".into() }),
        }
    }

    fn attest(m: &SessionMap, id: &str, nonce: &str, token_len: usize, now: SystemTime) -> Result<SystemTime, Error> {
        match m.begin_attest(id, now)? {
            AttestStart::Challenged { nonce: n, pin, .. } if n == nonce => pin.finish(attested(token_len), now),
            AttestStart::Challenged { .. } => Err(Error::NonceMismatch),
            AttestStart::Attested(s) => Err(Error::IllegalTransition { state: s.state.name(), action: "attest" }),
        }
    }

    #[test]
    fn expiry_limit_and_transitions() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let m = SessionMap::new(Duration::from_secs(300), 2, 1 << 20);
        m.insert("a".into(), Tee::Sample, "n".into(), t0).unwrap();
        m.insert("b".into(), Tee::Sample, "n".into(), t0).unwrap();
        assert_eq!(attest(&m, "a", "other", 10, t0), Err(Error::NonceMismatch));
        attest(&m, "a", "n", 10, t0).unwrap();
        assert_eq!(attest(&m, "a", "n", 10, t0), Err(Error::IllegalTransition { state: "attested", action: "attest" }));
        assert!(m.get("a", t0 + Duration::from_secs(299)).is_ok());
        assert_eq!(m.get("a", t0 + Duration::from_secs(300)).err(), Some(Error::SessionExpired));
        assert_eq!(m.cleanup(t0 + Duration::from_secs(301)), 1);
        assert!(m.is_empty());
    }

    /// Item 9, on the table with an injected clock: unattested sessions are evicted oldest first
    /// and never push out attested or attesting ones; attested ones are bounded by bytes.
    #[test]
    fn session_table_evicts_oldest_unattested_and_bounds_attested_bytes() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let per = attested_cost(&attested(1000));
        let m = SessionMap::new(Duration::from_secs(300), 3, 3 * per);
        // two attested sessions, one pinned mid-verification
        for id in ["att1", "att2", "pinned"] {
            m.insert(id.into(), Tee::Sample, "n".into(), t0).unwrap();
        }
        attest(&m, "att1", "n", 1000, t0).unwrap();
        attest(&m, "att2", "n", 1000, t0).unwrap();
        let AttestStart::Challenged { pin, .. } = m.begin_attest("pinned", t0).unwrap() else {
            panic!("not challenged")
        };
        // a flood: 1000 bare auths; every insert succeeds
        for i in 0..1000 {
            let now = t0 + Duration::from_millis(i);
            m.insert(format!("flood{i}"), Tee::Sample, "n".into(), now).expect("auth never refused");
        }
        assert_eq!(m.len(), 3 + 3, "3 unattested + 2 attested + 1 attesting");
        assert!(m.get("flood0", t0).is_err(), "oldest evicted");
        assert!(m.get("flood999", t0).is_ok(), "newest kept");
        assert!(m.get("att1", t0).is_ok() && m.get("att2", t0).is_ok(), "attested survive the flood");
        // the session pinned during the flood still attests
        pin.finish(attested(1000), t0).unwrap();
        // over the byte budget: the oldest attested goes, the new one stays
        m.insert("big".into(), Tee::Sample, "n".into(), t0).unwrap();
        attest(&m, "big", "n", 1000, t0).unwrap();
        assert_eq!(m.get("att1", t0).err(), Some(Error::SessionNotFound), "oldest attested evicted by bytes");
        for id in ["att2", "pinned", "big"] {
            assert!(m.get(id, t0).is_ok(), "{id}");
        }
        assert!(m.evicted() >= 998);
        // a failed verification puts the session back as the newest unattested one
        m.insert("retry".into(), Tee::Sample, "n".into(), t0).unwrap();
        let AttestStart::Challenged { pin, .. } = m.begin_attest("retry", t0).unwrap() else {
            panic!("not challenged")
        };
        assert!(matches!(m.begin_attest("retry", t0), Err(Error::IllegalTransition { state: "attesting", .. })));
        drop(pin);
        m.insert("x1".into(), Tee::Sample, "n".into(), t0).unwrap();
        m.insert("x2".into(), Tee::Sample, "n".into(), t0).unwrap();
        attest(&m, "retry", "n", 10, t0).unwrap();
        // expiry still applies with the injected clock; stale queue entries do not leak
        assert!(m.cleanup(t0 + Duration::from_secs(301)) >= 5);
        assert!(m.is_empty());
        let t = m.lock();
        assert_eq!((t.n_challenged, t.n_attesting, t.n_attested, t.attested_bytes), (0, 0, 0, 0));
    }
}
