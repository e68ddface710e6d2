//! RCAR sessions: a typed state per session, an expiry, and a sharded map with a size limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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

const SHARDS: usize = 16;

/// All open sessions.
pub struct SessionMap {
    shards: Vec<Mutex<HashMap<String, Session>>>,
    count: AtomicUsize,
    max: usize,
    timeout: Duration,
}

impl SessionMap {
    pub fn new(timeout: Duration, max: usize) -> Self {
        SessionMap { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(), count: AtomicUsize::new(0), max, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn shard(&self, id: &str) -> &Mutex<HashMap<String, Session>> {
        let h = id.bytes().fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize));
        &self.shards[h % SHARDS]
    }

    fn lock<'a>(m: &'a Mutex<HashMap<String, Session>>) -> std::sync::MutexGuard<'a, HashMap<String, Session>> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Opens a session in `Challenged`; returns its expiry.
    pub fn insert(&self, id: String, tee: Tee, nonce: String, now: SystemTime) -> Result<SystemTime, Error> {
        if self.count.load(Ordering::Relaxed) >= self.max {
            return Err(Error::TooManySessions(self.max));
        }
        let expires = now + self.timeout;
        let prev = Self::lock(self.shard(&id)).insert(id, Session { state: SessionState::Challenged { tee, nonce }, expires });
        if prev.is_none() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(expires)
    }

    /// The live session, or `SessionNotFound` / `SessionExpired` (an expired one is removed).
    pub fn get(&self, id: &str, now: SystemTime) -> Result<Session, Error> {
        let mut m = Self::lock(self.shard(id));
        let s = m.get(id).ok_or(Error::SessionNotFound)?;
        if s.expires <= now {
            m.remove(id);
            self.count.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::SessionExpired);
        }
        Ok(s.clone())
    }

    /// `Challenged{nonce}` → `Attested`. Fails if the session moved on meanwhile or the nonce
    /// differs (so one challenge yields at most one token).
    pub fn attest(&self, id: &str, nonce: &str, next: SessionState, now: SystemTime) -> Result<SystemTime, Error> {
        let mut m = Self::lock(self.shard(id));
        let s = m.get_mut(id).ok_or(Error::SessionNotFound)?;
        if s.expires <= now {
            return Err(Error::SessionExpired);
        }
        match &s.state {
            SessionState::Challenged { nonce: n, .. } if n == nonce => {}
            SessionState::Challenged { .. } => return Err(Error::NonceMismatch),
            other => return Err(Error::IllegalTransition { state: other.name(), action: "attest" }),
        }
        s.state = next;
        Ok(s.expires)
    }

    /// Drops every expired session; returns how many.
    pub fn cleanup(&self, now: SystemTime) -> usize {
        let mut n = 0;
        for sh in &self.shards {
            let mut m = Self::lock(sh);
            let before = m.len();
            m.retain(|_, s| s.expires > now);
            n += before - m.len();
        }
        self.count.fetch_sub(n, Ordering::Relaxed);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_limit_and_transitions() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let m = SessionMap::new(Duration::from_secs(300), 2);
        m.insert("a".into(), Tee::Sample, "n".into(), t0).unwrap();
        m.insert("b".into(), Tee::Sample, "n".into(), t0).unwrap();
        assert_eq!(m.insert("c".into(), Tee::Sample, "n".into(), t0), Err(Error::TooManySessions(2)));
        let next = || SessionState::Attested {
            token: "t".into(),
            claims: regorus::Value::Null,
            tee_pubkey: Arc::new(TeePubKey::Rsa { alg: "x".into(), n: "n".into(), e: "e".into() }),
        };
        assert_eq!(m.attest("a", "other", next(), t0), Err(Error::NonceMismatch));
        m.attest("a", "n", next(), t0).unwrap();
        assert_eq!(m.attest("a", "n", next(), t0), Err(Error::IllegalTransition { state: "attested", action: "attest" }));
        assert!(m.get("a", t0 + Duration::from_secs(299)).is_ok());
        assert_eq!(m.get("a", t0 + Duration::from_secs(300)).err(), Some(Error::SessionExpired));
        assert_eq!(m.cleanup(t0 + Duration::from_secs(301)), 1);
        assert!(m.is_empty());
    }
}
