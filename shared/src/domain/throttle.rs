//! Login throttling (contract v2): failures are counted per (account, client), per
//! client across accounts and per account across clients, each in its own counter.
//!
//! An attempt is *admitted* before its password is checked and *settled* after.
//! Admission reserves a slot: `failures + in_flight` may never exceed the limit,
//! so N parallel guesses can never buy more than `max_failures` checks per window.
//! Only a settled failure counts towards the lock, so concurrent correct logins
//! are never refused as failed attempts: when every slot is taken by attempts
//! still in flight, the caller is told to wait (`Busy`), not that it failed.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Timestamp;

/// One limit: `max_failures` failed attempts within `window` lock the counter's
/// key for `lock_for`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleLimit {
    /// Failures within the window that lock.
    pub max_failures: u32,
    /// How long failures are counted.
    pub window: Duration,
    /// How long a lock lasts.
    pub lock_for: Duration,
}

/// The three limits every password check (login, registration, re-authentication)
/// goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottlePolicy {
    /// One account from one client address: guessing one password.
    pub client_account: ThrottleLimit,
    /// One client address across every account: password spraying.
    pub client: ThrottleLimit,
    /// One account from every address: distributed guessing.
    pub account: ThrottleLimit,
    /// An admitted attempt that never settles (its process died) stops holding a
    /// slot after this long.
    pub in_flight_timeout: Duration,
}

impl LoginThrottlePolicy {
    /// The limit of one scope.
    pub fn limit(&self, scope: ThrottleScope) -> &ThrottleLimit {
        match scope {
            ThrottleScope::ClientAccount => &self.client_account,
            ThrottleScope::Client => &self.client,
            ThrottleScope::Account => &self.account,
        }
    }
}

/// What a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThrottleScope {
    /// One account from one client address.
    ClientAccount,
    /// One client address across accounts.
    Client,
    /// One account across client addresses.
    Account,
}

/// The address a request came from, as the platform reports it (the TCP peer, API
/// Gateway's `sourceIp`, the Functions front end), or `Unknown` where a host
/// cannot tell: all unknown clients then share one counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ClientAddress {
    /// The address the platform reported.
    Ip(IpAddr),
    #[default]
    /// The platform did not say: such requests share one client counter.
    Unknown,
}

impl ClientAddress {
    /// An address as a platform reports it: `1.2.3.4`, `1.2.3.4:5678`, `::1` or
    /// `[::1]:5678`. Anything else is `Unknown`.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Self::Ip(canonical(ip));
        }
        if let Ok(socket) = text.parse::<std::net::SocketAddr>() {
            return Self::Ip(canonical(socket.ip()));
        }
        Self::Unknown
    }
}

/// An IPv4 client reached over an IPv6 socket is still that IPv4 client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl From<IpAddr> for ClientAddress {
    fn from(ip: IpAddr) -> Self {
        Self::Ip(canonical(ip))
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => ip.fmt(f),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// A counter's key: its scope and a SHA-256 digest of what it counts. No email or
/// address is stored in the clear, and every key has the same short length
/// whatever the login (a 3000-character login still fits a DynamoDB key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThrottleKey {
    scope: ThrottleScope,
    key: String,
}

impl ThrottleKey {
    /// The counters one attempt goes through, for the normalised `login` from
    /// `client`. Registration counts against the client only.
    pub fn for_login(login: &str, client: ClientAddress) -> [ThrottleKey; 3] {
        let client = client.to_string();
        [
            Self::new(ThrottleScope::ClientAccount, &[login, &client]),
            Self::new(ThrottleScope::Client, &[&client]),
            Self::new(ThrottleScope::Account, &[login]),
        ]
    }

    /// The key of one client address alone (registrations count against it).
    pub fn for_client(client: ClientAddress) -> ThrottleKey {
        Self::new(ThrottleScope::Client, &[&client.to_string()])
    }

    fn new(scope: ThrottleScope, parts: &[&str]) -> Self {
        let prefix = match scope {
            ThrottleScope::ClientAccount => "ca",
            ThrottleScope::Client => "c",
            ThrottleScope::Account => "a",
        };
        let mut hash = Sha256::new();
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self {
            scope,
            key: format!("{prefix}_{digest}"),
        }
    }

    /// Which counter it is.
    pub fn scope(&self) -> ThrottleScope {
        self.scope
    }

    /// The stored key: `ca_`, `c_` or `a_` and 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.key
    }
}

/// Whether an attempt may check a password now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A slot is reserved; the attempt must be settled.
    Admitted,
    /// Locked by failures; refused until `retry_after` has passed.
    Locked {
        /// How long the lock still holds.
        retry_after: Duration,
    },
    /// Every slot is held by attempts still in flight: not a failure, wait and ask again.
    Busy,
}

/// How an admitted attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The password was wrong (or the account unknown).
    Failed,
    /// The password was right. The (account, client) count starts over; the
    /// client and account counts keep their failures, so an attacker who also
    /// knows one password cannot reset them.
    Succeeded,
    /// The attempt never checked a password (another counter refused it, or the
    /// hashers were busy): only its slot is given back.
    Released,
}

/// One counter, as every store keeps it (serialised as JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleState {
    /// Failures settled in the current window.
    pub failures: u32,
    /// Unix milliseconds.
    pub window_started_at: i64,
    /// Unix milliseconds.
    pub locked_until: Option<i64>,
    /// Attempts admitted and not yet settled.
    pub in_flight: u32,
    /// When the latest attempt was admitted (unix milliseconds).
    pub in_flight_since: i64,
}

impl ThrottleState {
    fn fresh(now: Timestamp) -> Self {
        Self {
            failures: 0,
            window_started_at: now.unix_millis(),
            locked_until: None,
            in_flight: 0,
            in_flight_since: now.unix_millis(),
        }
    }

    /// The state as of `now`: an ended lock or window starts a new count, and
    /// reservations older than the timeout no longer hold slots.
    fn current(
        previous: Option<Self>,
        now: Timestamp,
        limit: &ThrottleLimit,
        policy: &LoginThrottlePolicy,
    ) -> Self {
        let Some(mut state) = previous else {
            return Self::fresh(now);
        };
        let now_ms = now.unix_millis();
        match state.locked_until {
            Some(until) if now_ms < until => return state,
            Some(_) => {
                state.failures = 0;
                state.locked_until = None;
                state.window_started_at = now_ms;
            }
            None => {}
        }
        let window_end = Timestamp::from_unix_millis(state.window_started_at)
            .saturating_add(limit.window)
            .unix_millis();
        if now_ms >= window_end {
            state.failures = 0;
            state.window_started_at = now_ms;
        }
        let stale_after = Timestamp::from_unix_millis(state.in_flight_since)
            .saturating_add(policy.in_flight_timeout)
            .unix_millis();
        if now_ms >= stale_after {
            state.in_flight = 0;
        }
        state
    }

    /// How long the key stays locked at `now`, if it is.
    pub fn retry_after(&self, now: Timestamp) -> Option<Duration> {
        self.locked_until
            .map(Timestamp::from_unix_millis)
            .filter(|until| now < *until)
            .map(|until| now.until(until))
    }

    /// Admits one attempt at `now` if a slot is free. Returns the state to store
    /// (`None`: nothing changed) and the admission.
    pub fn admit(
        previous: Option<Self>,
        now: Timestamp,
        scope: ThrottleScope,
        policy: &LoginThrottlePolicy,
    ) -> (Option<Self>, Admission) {
        let limit = policy.limit(scope);
        let mut state = Self::current(previous, now, limit, policy);
        if let Some(retry_after) = state.retry_after(now) {
            return (None, Admission::Locked { retry_after });
        }
        if state.failures.saturating_add(state.in_flight) >= limit.max_failures {
            return (None, Admission::Busy);
        }
        state.in_flight += 1;
        state.in_flight_since = now.unix_millis();
        (Some(state), Admission::Admitted)
    }

    /// Settles one admitted attempt. Returns the state to store.
    pub fn settle(
        previous: Option<Self>,
        now: Timestamp,
        scope: ThrottleScope,
        settlement: Settlement,
        policy: &LoginThrottlePolicy,
    ) -> Self {
        let limit = policy.limit(scope);
        let mut state = Self::current(previous, now, limit, policy);
        state.in_flight = state.in_flight.saturating_sub(1);
        match settlement {
            Settlement::Released => {}
            Settlement::Succeeded => {
                if scope == ThrottleScope::ClientAccount && state.locked_until.is_none() {
                    state.failures = 0;
                }
            }
            Settlement::Failed => {
                if state.locked_until.is_none() {
                    state.failures = state.failures.saturating_add(1);
                    if state.failures >= limit.max_failures {
                        state.locked_until = Some(now.saturating_add(limit.lock_for).unix_millis());
                    }
                }
            }
        }
        state
    }

    /// When a store may forget this counter: nothing it holds matters after then.
    pub fn forget_after(&self, scope: ThrottleScope, policy: &LoginThrottlePolicy) -> Timestamp {
        let limit = policy.limit(scope);
        let window_end =
            Timestamp::from_unix_millis(self.window_started_at).saturating_add(limit.window);
        let in_flight_end = Timestamp::from_unix_millis(self.in_flight_since)
            .saturating_add(policy.in_flight_timeout);
        let lock_end = Timestamp::from_unix_millis(self.locked_until.unwrap_or(i64::MIN));
        window_end.max(in_flight_end).max(lock_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: ThrottleLimit = ThrottleLimit {
        max_failures: 5,
        window: Duration::from_secs(900),
        lock_for: Duration::from_secs(600),
    };
    const POLICY: LoginThrottlePolicy = LoginThrottlePolicy {
        client_account: LIMIT,
        client: ThrottleLimit {
            max_failures: 100,
            ..LIMIT
        },
        account: ThrottleLimit {
            max_failures: 100,
            ..LIMIT
        },
        in_flight_timeout: Duration::from_secs(30),
    };
    const PAIR: ThrottleScope = ThrottleScope::ClientAccount;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(seconds * 1000)
    }

    /// Admits and settles one attempt at `t`.
    fn attempt(
        state: Option<ThrottleState>,
        t: i64,
        outcome: Settlement,
    ) -> (Option<ThrottleState>, Admission) {
        let (next, admission) = ThrottleState::admit(state, at(t), PAIR, &POLICY);
        if admission != Admission::Admitted {
            return (state, admission);
        }
        (
            Some(ThrottleState::settle(next, at(t), PAIR, outcome, &POLICY)),
            admission,
        )
    }

    #[test]
    fn five_failures_lock_and_the_lock_ends() {
        let mut state = None;
        for t in 0..5 {
            let (next, admission) = attempt(state, t, Settlement::Failed);
            assert_eq!(admission, Admission::Admitted);
            state = next;
        }
        let (_, refused) = attempt(state, 5, Settlement::Succeeded);
        assert_eq!(
            refused,
            Admission::Locked {
                retry_after: Duration::from_secs(599)
            }
        );
        // The lock ended at 4 + 600: a fresh count.
        let (state, admission) = attempt(state, 604, Settlement::Failed);
        assert_eq!(admission, Admission::Admitted);
        assert_eq!(state.unwrap().failures, 1);
    }

    #[test]
    fn in_flight_attempts_are_busy_not_failures() {
        // Eight correct logins at once: five get slots, three must wait.
        let mut state = None;
        let mut admissions = Vec::new();
        for _ in 0..8 {
            let (next, admission) = ThrottleState::admit(state, at(0), PAIR, &POLICY);
            state = next.or(state);
            admissions.push(admission);
        }
        assert_eq!(
            admissions
                .iter()
                .filter(|a| **a == Admission::Admitted)
                .count(),
            5
        );
        assert_eq!(
            admissions.iter().filter(|a| **a == Admission::Busy).count(),
            3
        );
        // They succeed; the waiting three then get in, and nothing ever locked.
        for _ in 0..5 {
            state = Some(ThrottleState::settle(
                state,
                at(0),
                PAIR,
                Settlement::Succeeded,
                &POLICY,
            ));
        }
        for _ in 0..3 {
            let (next, admission) = ThrottleState::admit(state, at(0), PAIR, &POLICY);
            assert_eq!(admission, Admission::Admitted);
            state = next;
        }
        assert_eq!(state.unwrap().locked_until, None);
    }

    #[test]
    fn parallel_guesses_never_exceed_the_limit() {
        let mut state = None;
        let mut admitted = 0;
        for _ in 0..50 {
            let (next, admission) = ThrottleState::admit(state, at(0), PAIR, &POLICY);
            if admission == Admission::Admitted {
                admitted += 1;
                state = next;
            }
        }
        assert_eq!(admitted, 5);
        for _ in 0..5 {
            state = Some(ThrottleState::settle(
                state,
                at(1),
                PAIR,
                Settlement::Failed,
                &POLICY,
            ));
        }
        assert!(matches!(
            ThrottleState::admit(state, at(2), PAIR, &POLICY).1,
            Admission::Locked { .. }
        ));
    }

    #[test]
    fn success_resets_only_the_pair_count() {
        let (state, _) = attempt(None, 0, Settlement::Failed);
        let (state, _) = attempt(state, 1, Settlement::Succeeded);
        assert_eq!(state.unwrap().failures, 0);

        let account = ThrottleScope::Account;
        let (next, _) = ThrottleState::admit(None, at(0), account, &POLICY);
        let failed = ThrottleState::settle(next, at(0), account, Settlement::Failed, &POLICY);
        let (next, _) = ThrottleState::admit(Some(failed), at(1), account, &POLICY);
        let succeeded = ThrottleState::settle(next, at(1), account, Settlement::Succeeded, &POLICY);
        assert_eq!((succeeded.failures, succeeded.in_flight), (1, 0));
    }

    #[test]
    fn released_slots_do_not_count_and_stale_ones_expire() {
        let (next, _) = ThrottleState::admit(None, at(0), PAIR, &POLICY);
        let released = ThrottleState::settle(next, at(0), PAIR, Settlement::Released, &POLICY);
        assert_eq!((released.failures, released.in_flight), (0, 0));

        // Five attempts whose processes died: busy until the timeout, then free.
        let mut state = None;
        for _ in 0..5 {
            state = ThrottleState::admit(state, at(0), PAIR, &POLICY)
                .0
                .or(state);
        }
        assert_eq!(
            ThrottleState::admit(state, at(29), PAIR, &POLICY).1,
            Admission::Busy
        );
        assert_eq!(
            ThrottleState::admit(state, at(30), PAIR, &POLICY).1,
            Admission::Admitted
        );
    }

    #[test]
    fn failures_outside_the_window_start_over() {
        let mut state = None;
        for t in [0, 1, 2, 3] {
            state = attempt(state, t, Settlement::Failed).0;
        }
        let (state, admission) = attempt(state, 900, Settlement::Failed);
        assert_eq!(admission, Admission::Admitted);
        assert_eq!(state.unwrap().failures, 1);
    }

    #[test]
    fn keys_are_short_digests_that_separate_scopes_and_clients() {
        let a = ClientAddress::parse("127.0.0.2");
        let b = ClientAddress::parse("[::ffff:127.0.0.3]:4567");
        assert_eq!(b, ClientAddress::parse("127.0.0.3"));
        let long = "x".repeat(3000);
        let [pair, client, account] = ThrottleKey::for_login(&long, a);
        assert!(pair.as_str().starts_with("ca_") && pair.as_str().len() == 67);
        assert!(client.as_str().starts_with("c_"));
        assert!(account.as_str().starts_with("a_"));
        assert_ne!(ThrottleKey::for_login(&long, b)[0], pair);
        assert_eq!(ThrottleKey::for_login(&long, b)[2], account);
        assert_eq!(ThrottleKey::for_client(a), client);
        assert_eq!(
            ClientAddress::parse("not an address"),
            ClientAddress::Unknown
        );
    }
}
