use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{TableStore, digest};
use crate::adapters::azure::table::{MAX_OPTIMISTIC_ATTEMPTS, Write};
use crate::domain::{Admission, LockoutPolicy, LockoutState, Timestamp};
use crate::ports::{LockoutStore, StoreError};

#[derive(Clone, Copy, Serialize, Deserialize)]
struct LockoutDoc {
    failures: u32,
    window_started_at: i64,
    locked_until: Option<i64>,
}

impl LockoutDoc {
    fn of(state: LockoutState) -> Self {
        Self {
            failures: state.failures,
            window_started_at: state.window_started_at.unix_millis(),
            locked_until: state.locked_until.map(Timestamp::unix_millis),
        }
    }

    fn state(self) -> LockoutState {
        LockoutState {
            failures: self.failures,
            window_started_at: Timestamp::from_unix_millis(self.window_started_at),
            locked_until: self.locked_until.map(Timestamp::from_unix_millis),
        }
    }
}

const ROW: &str = "lockout";

fn lockout_pk(login: &str) -> String {
    format!("lockout_{}", digest(login))
}

#[async_trait]
impl LockoutStore for TableStore {
    /// Read, decide, then insert (first failure) or replace on the ETag; a lost
    /// race reads again, so each admitted attempt is exactly one increment.
    async fn admit(
        &self,
        login: &str,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<Admission, StoreError> {
        let pk = lockout_pk(login);
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let stored = self
                .table
                .get::<LockoutDoc>(&pk, ROW, "read lockout")
                .await?;
            let previous = stored.as_ref().map(|s| s.value.state());
            let (next, admission) = LockoutState::admit(previous, now, policy);
            let Some(next) = next.filter(|n| Some(*n) != previous) else {
                return Ok(admission);
            };
            let doc = LockoutDoc::of(next);
            let written = match &stored {
                None => self.table.insert(&pk, ROW, &doc, "write lockout").await?,
                Some(s) => {
                    self.table
                        .replace(&pk, ROW, &doc, &s.etag, "write lockout")
                        .await?
                }
            };
            if written == Write::Done {
                return Ok(admission);
            }
        }
        Err(StoreError::message("lockout counter too contended"))
    }

    async fn clear(&self, login: &str) -> Result<(), StoreError> {
        self.table
            .delete(&lockout_pk(login), ROW, None, "clear lockout")
            .await
            .map(drop)
    }
}
