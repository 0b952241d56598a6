//! Leases: a named lock in the lake, held by one process at a time until it
//! releases it or lets it expire.
//!
//! A lease is an object `_lakescore/leases/NAME.json` created with
//! create-if-absent (atomic on every object store and on local disks); it holds
//! the owner, a random token and an expiry. The holder renews it while it works;
//! a lease left by a killed process expires and is then taken over. The
//! scheduler uses one per job so that a job never overlaps itself, also across
//! processes and machines sharing the lake (the replace commit's `txn` check
//! still refuses two commits of one job and date should a takeover race).

use std::time::Duration;

use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{ObjectStoreExt as _, PutMode, PutOptions};
use serde::{Deserialize, Serialize};

use super::{Lake, Result};

/// What a lease file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseInfo {
    pub owner: String,
    pub token: String,
    /// Microseconds since the epoch, UTC.
    pub expires_at: i64,
}

/// A held lease.
#[derive(Debug)]
pub struct Lease {
    lake: Lake,
    path: String,
    info: LeaseInfo,
}

/// The outcome of [`Lake::try_lease`].
#[derive(Debug)]
pub enum Acquire {
    Acquired(Lease),
    HeldBy(LeaseInfo),
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl Lake {
    /// Take lease `name` for `ttl` unless a live holder has it.
    pub async fn try_lease(&self, name: &str, ttl: Duration, owner: &str) -> Result<Acquire> {
        let path = format!("_lakescore/leases/{name}.json");
        for _ in 0..2 {
            let info = LeaseInfo {
                owner: owner.to_string(),
                token: uuid::Uuid::new_v4().to_string(),
                expires_at: now_micros() + ttl.as_micros() as i64,
            };
            let bytes = serde_json::to_vec(&info).expect("lease serializes");
            let store = self.object_store()?;
            let put = store
                .put_opts(
                    &ObjectPath::from(path.as_str()),
                    bytes.into(),
                    PutOptions {
                        mode: PutMode::Create,
                        ..Default::default()
                    },
                )
                .await;
            match put {
                Ok(_) => {
                    return Ok(Acquire::Acquired(Lease {
                        lake: self.clone(),
                        path,
                        info,
                    }));
                }
                Err(deltalake::ObjectStoreError::AlreadyExists { .. }) => {}
                Err(source) => return Err(self.object_err(&path, source)),
            }
            let holder = match self.get_object(&path).await {
                Ok(bytes) => serde_json::from_slice::<LeaseInfo>(&bytes).ok(),
                Err(_) => None, // released meanwhile: try again
            };
            match holder {
                Some(h) if h.expires_at > now_micros() => return Ok(Acquire::HeldBy(h)),
                // Expired (its holder died) or unreadable: take it over.
                _ => {
                    let _ = store.delete(&ObjectPath::from(path.as_str())).await;
                }
            }
        }
        let bytes = self.get_object(&path).await?;
        Ok(Acquire::HeldBy(serde_json::from_slice(&bytes).unwrap_or(
            LeaseInfo {
                owner: "unknown".into(),
                token: String::new(),
                expires_at: 0,
            },
        )))
    }
}

impl Lease {
    pub fn info(&self) -> &LeaseInfo {
        &self.info
    }

    /// Extend the lease by `ttl` from now.
    pub async fn renew(&mut self, ttl: Duration) -> Result<()> {
        self.info.expires_at = now_micros() + ttl.as_micros() as i64;
        let bytes = serde_json::to_vec(&self.info).expect("lease serializes");
        self.lake.put_object(&self.path, bytes).await
    }

    /// Give the lease up (if it is still ours).
    pub async fn release(self) -> Result<()> {
        let current = self.lake.get_object(&self.path).await.ok();
        let ours = current
            .and_then(|b| serde_json::from_slice::<LeaseInfo>(&b).ok())
            .is_some_and(|h| h.token == self.info.token);
        if ours {
            let store = self.lake.object_store()?;
            store
                .delete(&ObjectPath::from(self.path.as_str()))
                .await
                .map_err(|source| self.lake.object_err(&self.path, source))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_and_expired_leases_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let long = Duration::from_mins(1);
        let Acquire::Acquired(a) = lake.try_lease("job", long, "a").await.unwrap() else {
            panic!("first taker gets it");
        };
        match lake.try_lease("job", long, "b").await.unwrap() {
            Acquire::HeldBy(h) => assert_eq!(h.owner, "a"),
            Acquire::Acquired(_) => panic!("held by a"),
        }
        a.release().await.unwrap();
        let Acquire::Acquired(b) = lake.try_lease("job", Duration::ZERO, "b").await.unwrap() else {
            panic!("free after release");
        };
        // b's lease expired at once: c takes it over, and b's release leaves c's lease alone.
        let Acquire::Acquired(c) = lake.try_lease("job", long, "c").await.unwrap() else {
            panic!("expired leases are taken over");
        };
        b.release().await.unwrap();
        match lake.try_lease("job", long, "d").await.unwrap() {
            Acquire::HeldBy(h) => assert_eq!(h.owner, c.info().owner),
            Acquire::Acquired(_) => panic!("held by c"),
        }
    }
}
