//! Read-only views of the registry, as the command line shows them.

use chrono::{DateTime, Utc};
use lakescore_core::drift::ReferenceProfile;
use lakescore_core::registry::diff::{VersionDiff, diff};
use lakescore_core::registry::state::{ModelState, RequestStatus, TransitionRequest, VersionState};
use lakescore_core::uri::{ModelRef, ModelSelector};
use serde::Serialize;

use super::{Registry, Result, model_in, resolve_in};

/// `registry show NAME`: a model with everything the fold knows of it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    pub model: String,
    pub state: ModelState,
}

/// `registry show NAME VERSION`: one version and its reference profile.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub version: VersionState,
    pub reference_profile: Option<ReferenceProfile>,
}

fn version_ref(name: &str, version: i64) -> ModelRef {
    ModelRef {
        name: name.to_string(),
        selector: ModelSelector::Version(version),
    }
}

impl Registry {
    /// A model as of a time (or now).
    pub async fn model_view(&self, name: &str, as_of: Option<DateTime<Utc>>) -> Result<ModelView> {
        let state = self.state_at(as_of).await?;
        let Ok(model) = model_in(&state, name) else {
            return Err(self.unknown_at(name, as_of).await);
        };
        Ok(ModelView {
            model: name.to_string(),
            state: model.clone(),
        })
    }

    /// One version and its profile, as of a time (or now).
    pub async fn version_view(
        &self,
        name: &str,
        version: i64,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<VersionView> {
        let state = self.state_at(as_of).await?;
        if model_in(&state, name).is_err() {
            return Err(self.unknown_at(name, as_of).await);
        }
        let v = resolve_in(&state, &version_ref(name, version))?.clone();
        let reference_profile = self.load_profile(&v.record).await?;
        Ok(VersionView {
            version: v,
            reference_profile,
        })
    }

    /// Every version (of `name`, if given) as of a time (or now).
    pub async fn list(
        &self,
        name: Option<&str>,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<VersionState>> {
        let state = self.state_at(as_of).await?;
        if let Some(n) = name
            && model_in(&state, n).is_err()
        {
            return Err(self.unknown_at(n, as_of).await);
        }
        Ok(state
            .models
            .iter()
            .filter(|(n, _)| name.is_none_or(|want| want == n.as_str()))
            .flat_map(|(_, m)| m.versions.values().cloned())
            .collect())
    }

    /// Transition requests (of `name`, if given): pending ones, or all.
    pub async fn requests(&self, name: Option<&str>, all: bool) -> Result<Vec<TransitionRequest>> {
        let state = self.state().await?;
        if let Some(n) = name {
            model_in(&state, n)?;
        }
        Ok(state
            .models
            .iter()
            .filter(|(n, _)| name.is_none_or(|want| want == n.as_str()))
            .flat_map(|(_, m)| m.requests.values())
            .filter(|r| all || r.status == RequestStatus::Pending)
            .cloned()
            .collect())
    }

    /// What changed from version `from` to version `to` of `name`.
    pub async fn diff(&self, name: &str, from: i64, to: i64) -> Result<VersionDiff> {
        let state = self.state().await?;
        let a = resolve_in(&state, &version_ref(name, from))?;
        let b = resolve_in(&state, &version_ref(name, to))?;
        let pa = self.load_profile(&a.record).await?;
        let pb = self.load_profile(&b.record).await?;
        Ok(diff(a, pa.as_ref(), b, pb.as_ref()))
    }
}
