//! The model being served, and the task that follows the registry: when the
//! reference (`models:/churn@champion`, `models:/churn/production`) resolves
//! to another version (a promotion, an alias move, a rollback), the new
//! version is loaded in the background and swapped in at once. A request
//! takes the served model when it starts and keeps it to the end, so
//! in-flight requests finish on the version they started with.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lakescore_core::uri::ModelRef;
use lakescore_engine::registry::{Registry, RegistryError};
use lakescore_engine::score::ModelInputs;
use lakescore_model::Model;
use tokio::sync::watch;

/// One loaded model version.
pub struct Served {
    pub name: String,
    pub version: i64,
    pub model: Box<dyn Model>,
    pub inputs: ModelInputs,
    pub loaded_at: DateTime<Utc>,
    /// The version's `version` header value, made once.
    pub version_text: String,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Resolve `reference` and load its version (the artifact's SHA-256 checked).
pub async fn load(registry: &Registry, reference: &ModelRef) -> Result<Served, RegistryError> {
    let resolved = registry.load(reference).await?;
    let inputs = ModelInputs::of(resolved.model.as_ref());
    let version = resolved.version.record.version;
    Ok(Served {
        name: resolved.version.record.name.clone(),
        version,
        model: resolved.model,
        inputs,
        loaded_at: Utc::now(),
        version_text: version.to_string(),
    })
}

/// Every `every`, resolve `reference` again; on a new version, load it and
/// publish it on `tx`. Ends when `stop` turns true. A version that fails to
/// load is logged and the current one keeps serving.
pub async fn follow(
    registry: Registry,
    reference: ModelRef,
    tx: watch::Sender<Arc<Served>>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    accept: impl Fn(&Served) -> Result<(), String> + Send,
    on_switch: impl Fn(&Served) + Send,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        let current = tx.borrow().version;
        match registry.resolve(&reference).await {
            Ok(state) if state.record.version == current => {}
            Ok(state) => match load(&registry, &reference).await {
                Ok(next) if let Err(why) = accept(&next) => tracing::warn!(
                    "{reference} now resolves to version {}, which is not served ({why}); \
                     still serving version {current}",
                    next.version
                ),
                Ok(next) => {
                    tracing::info!(
                        model = %next.name,
                        from = current,
                        to = next.version,
                        "{reference} moved: now serving version {} (was {current})",
                        next.version
                    );
                    on_switch(&next);
                    tx.send_replace(Arc::new(next));
                }
                Err(e) => tracing::warn!(
                    "{reference} now resolves to version {}, which does not load ({e}); \
                     still serving version {current}",
                    state.record.version
                ),
            },
            Err(e) => {
                tracing::warn!("cannot resolve {reference} ({e}); still serving version {current}");
            }
        }
    }
}
