//! Registry operations on the lake: two Delta tables, MLflow-compatible semantics.
//!
//! Versions are immutable rows in `registry/model_versions`; every change is an
//! event row in `registry/model_events`; the current state (stages, aliases) is
//! the fold in [`lakescore_core::registry::state`]. Writes are optimistic
//! ([`optimistic`]): read the table at version N, decide (the next version
//! number, the next event `seq`), commit only if the table is still at N, else
//! re-read and decide again. Two processes registering at once therefore never
//! get the same version number. Artifacts and profiles are stored
//! content-addressed ([`artifacts`]) and checked against their SHA-256 on every
//! load.
//!
//! Registering writes two tables, so it takes two commits: the version row,
//! then its `registered` event. A crash between them leaves a version without
//! its event; reads treat the version row as the registration (`list`,
//! resolution, and `history`, which shows it in place), and the next write to
//! the events table records the missing event first. So after a kill at any
//! point, `list`, `history` and resolution agree.

pub mod annotate;
pub mod artifacts;
pub mod identity;
pub mod mlflow;
pub mod queries;
pub mod register;
pub mod transitions;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lakescore_core::drift::DriftError;
use lakescore_core::registry::state::{
    DecisionRefusal, ModelState, RegistryState, ResolveError, VersionState,
};
use lakescore_core::registry::{
    EVENTS_TABLE, EventKind, ModelEventRow, ModelVersionRow, VERSIONS_TABLE,
};
use lakescore_core::table::TableRow;
use lakescore_core::uri::{ModelRef, Stage};
use lakescore_core::{Classify, ErrorClass, suggest};
use lakescore_lake::{Lake, LakeError, Table, schema_of};
use lakescore_model::{Model, ModelError};

use crate::failpoints::crash_point;
pub use annotate::Annotation;
pub use identity::{default_actor, system_identity};
pub use register::{RegisterCommand, RegisterRequest, RegisterSource};
pub use transitions::RollbackTarget;

/// How often an optimistic registry write is retried against concurrent writers.
const MAX_ATTEMPTS: usize = 50;

/// The comment of a `registered` event recorded after an interrupted registration.
const LATE_REGISTRATION: &str =
    "recorded late: the registration was interrupted before its event was written";

/// Registry errors; each names the model, version or alias concerned.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("bad model reference: {0}")]
    BadReference(String),
    /// `hint` is a "did you mean" or what the registry holds instead.
    #[error("model {name:?} is not registered{hint} (see `lakescore registry list`)")]
    UnknownModel { name: String, hint: String },
    #[error(
        "model {name:?} was not registered yet at {as_of} (its first version was registered at {first})"
    )]
    NotYetRegistered {
        name: String,
        as_of: String,
        first: String,
    },
    #[error("model {name:?} has no version {version}")]
    UnknownVersion { name: String, version: i64 },
    #[error("model {name:?} has no version in stage {stage}")]
    NoVersionInStage { name: String, stage: Stage },
    #[error("model {name:?} has no alias {alias:?}{hint}")]
    UnknownAlias {
        name: String,
        alias: String,
        hint: String,
    },
    #[error("model {name:?} has no versions")]
    NoVersions { name: String },
    #[error("invalid {what}: {message}")]
    Invalid { what: String, message: String },
    #[error("cannot read artifact {path}")]
    ReadArtifact {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{what} of {name} version {version} at {path} has SHA-256 {found}, but {expected} was registered: \
         it was modified or corrupted"
    )]
    Tampered {
        /// `artifact` or `reference profile`.
        what: &'static str,
        name: String,
        version: i64,
        path: String,
        expected: String,
        found: String,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Profile(#[from] DriftError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("registry write for {name:?} lost {attempts} races with concurrent writers")]
    Contended { name: String, attempts: usize },
    #[error(
        "model {name:?} requires approval to enter {stage}: request it with \
         `lakescore registry request {name} {version} --stage {stage_arg}`, then have it approved"
    )]
    ApprovalRequired {
        name: String,
        version: i64,
        stage: Stage,
        stage_arg: String,
    },
    #[error("{decider} may not decide transition request {id} ({name} -> {stage}): {}", governance_reason(.refusal))]
    Governance {
        id: i64,
        name: String,
        stage: Stage,
        decider: String,
        refusal: DecisionRefusal,
    },
    #[error("there is no transition request {id} (see `lakescore registry requests`)")]
    UnknownRequest { id: i64 },
    #[error("transition request {id} for {name} version {version} was already {status}")]
    RequestDecided {
        id: i64,
        name: String,
        version: i64,
        status: String,
    },
    #[error("model {name:?}{on} has no tag {key:?}")]
    UnknownTag {
        name: String,
        /// `" version N"` or empty for the model.
        on: String,
        key: String,
    },
    #[error("reference data")]
    Reference(#[source] Box<crate::runner::reference::ReferenceError>),
    #[error("cannot read MLflow {what} {path}: {message}")]
    Mlflow {
        what: &'static str,
        path: String,
        message: String,
    },
}

impl RegistryError {
    /// Whether the reference found no version (no such model, not yet at that
    /// time, nothing in that stage or alias), as opposed to a registry that
    /// could not be read.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            RegistryError::UnknownModel { .. }
                | RegistryError::NotYetRegistered { .. }
                | RegistryError::UnknownVersion { .. }
                | RegistryError::NoVersionInStage { .. }
                | RegistryError::UnknownAlias { .. }
                | RegistryError::NoVersions { .. }
        )
    }
}

impl Classify for RegistryError {
    /// Storage trouble classifies as the lake says and lost races are
    /// transient; everything else (unknown names, bad artifacts, refused
    /// transitions) is bad input.
    fn class(&self) -> ErrorClass {
        match self {
            RegistryError::Lake(e) => e.class(),
            RegistryError::Model(e) => e.class(),
            RegistryError::Profile(e) => e.class(),
            RegistryError::Reference(e) => e.class(),
            RegistryError::Contended { .. } => ErrorClass::Transient,
            RegistryError::BadReference(_)
            | RegistryError::UnknownModel { .. }
            | RegistryError::NotYetRegistered { .. }
            | RegistryError::UnknownVersion { .. }
            | RegistryError::NoVersionInStage { .. }
            | RegistryError::UnknownAlias { .. }
            | RegistryError::NoVersions { .. }
            | RegistryError::Invalid { .. }
            | RegistryError::ReadArtifact { .. }
            | RegistryError::Tampered { .. }
            | RegistryError::ApprovalRequired { .. }
            | RegistryError::Governance { .. }
            | RegistryError::UnknownRequest { .. }
            | RegistryError::RequestDecided { .. }
            | RegistryError::UnknownTag { .. }
            | RegistryError::Mlflow { .. } => ErrorClass::BadInput,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// A resolved model: its version row, state and the loaded model.
pub struct ResolvedModel {
    pub version: VersionState,
    pub model: Box<dyn Model>,
}

/// The registry in one lake.
pub struct Registry {
    lake: Lake,
}

fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

impl Registry {
    pub fn new(lake: Lake) -> Self {
        Self { lake }
    }

    /// The lake this registry lives in.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub(crate) async fn versions_table(&self) -> Result<Table> {
        Ok(self
            .lake
            .ensure_table(
                VERSIONS_TABLE,
                &schema_of::<ModelVersionRow>(),
                &[],
                &[],
                "lakescore model versions",
            )
            .await?)
    }

    async fn events_table(&self) -> Result<Table> {
        Ok(self
            .lake
            .ensure_table(
                EVENTS_TABLE,
                &schema_of::<ModelEventRow>(),
                &[],
                &[],
                "lakescore registry events",
            )
            .await?)
    }

    /// The registry state now, or as it stood at `as_of` (Delta time travel on
    /// both registry tables); empty when nothing was registered.
    pub async fn state_at(&self, as_of: Option<DateTime<Utc>>) -> Result<RegistryState> {
        let (versions, events) = self.rows_at(as_of).await?;
        Ok(RegistryState::fold(versions, events))
    }

    /// The current registry state.
    pub async fn state(&self) -> Result<RegistryState> {
        self.state_at(None).await
    }

    async fn rows_at(
        &self,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<(Vec<ModelVersionRow>, Vec<ModelEventRow>)> {
        // Read together: on an object store each is a few round trips.
        tokio::try_join!(
            self.table_rows(VERSIONS_TABLE, as_of),
            self.table_rows(EVENTS_TABLE, as_of),
        )
    }

    /// Every row of a registry table, now or as of a time; none before it existed.
    async fn table_rows<T: serde::de::DeserializeOwned>(
        &self,
        rel: &str,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<T>> {
        let table = match as_of {
            None => self.lake.open_table(rel).await?,
            Some(at) => self.lake.open_table_as_of(rel, at).await?,
        };
        Ok(match table {
            Some(t) => t.read_rows::<T>().await?.1,
            None => Vec::new(),
        })
    }

    /// All events of `name` (as of a time), oldest first.
    pub async fn history(
        &self,
        name: &str,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<ModelEventRow>> {
        let (versions, mut events) = self.rows_at(as_of).await?;
        events.sort_by_key(|e| e.seq);
        events.retain(|e| e.model_name == name);
        // A registration interrupted between its two commits has a version row
        // but no `registered` event yet (the next registry write records it):
        // show it where it happened, so that history agrees with `list`.
        for late in unrecorded_registrations(&versions, &events, name) {
            let at = events
                .iter()
                .position(|e| e.created_at > late.created_at)
                .unwrap_or(events.len());
            events.insert(at, late);
        }
        if events.is_empty() {
            return Err(self.unknown_at(name, as_of).await);
        }
        Ok(events)
    }

    /// Decide events against the latest state and commit them, retrying on
    /// races; returns the committed events (with their `seq`).
    pub(crate) async fn append_events<F>(&self, name: &str, decide: F) -> Result<Vec<ModelEventRow>>
    where
        F: Fn(&RegistryState) -> Result<Vec<ModelEventRow>>,
    {
        let mut events_table = self.events_table().await?;
        let meta = HashMap::from([
            ("lakescore.operation".to_string(), "registry_event".into()),
            ("lakescore.model".to_string(), name.into()),
        ]);
        let committed = optimistic(
            &mut events_table,
            name,
            meta,
            async |existing: Vec<ModelEventRow>| {
                let versions: Vec<ModelVersionRow> = self.table_rows(VERSIONS_TABLE, None).await?;
                let next_seq = existing.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
                let late = unrecorded_registrations(&versions, &existing, name);
                let state = RegistryState::fold(versions, existing);
                let decided = decide(&state)?;
                decided.iter().try_for_each(check_text_lengths)?;
                // Registrations interrupted before their event are recorded
                // first (unless this write is that registration's own event).
                let mut events: Vec<ModelEventRow> = late
                    .into_iter()
                    .filter(|l| {
                        !decided.iter().any(|d| {
                            d.event_type == EventKind::Registered && d.version == l.version
                        })
                    })
                    .collect();
                events.extend(decided);
                for (i, ev) in events.iter_mut().enumerate() {
                    ev.seq = next_seq + i as i64;
                    if ev.event_type == EventKind::TransitionRequested {
                        ev.request_id = Some(ev.seq);
                    }
                }
                crash_point!("registry.before_event_commit");
                Ok(events)
            },
        )
        .await?;
        crash_point!("registry.after_event_commit");
        // The caller's events, without the registrations recorded on the way.
        Ok(committed
            .into_iter()
            .filter(|e| e.comment.as_deref() != Some(LATE_REGISTRATION))
            .collect())
    }

    /// Resolve a reference against the current registry.
    pub async fn resolve(&self, r: &ModelRef) -> Result<VersionState> {
        self.resolve_at(r, None).await
    }

    /// Resolve a reference against the registry as it stood at `as_of` (or now).
    pub async fn resolve_at(
        &self,
        r: &ModelRef,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<VersionState> {
        let state = self.state_at(as_of).await?;
        match resolve_in(&state, r) {
            Err(RegistryError::UnknownModel { name, .. }) => {
                Err(self.unknown_at(&name, as_of).await)
            }
            other => other.cloned(),
        }
    }

    /// Why `name` is not in the registry as of `as_of`: not registered at all,
    /// or not yet then (naming when it first was).
    pub(crate) async fn unknown_at(
        &self,
        name: &str,
        as_of: Option<DateTime<Utc>>,
    ) -> RegistryError {
        let Ok(now) = self
            .table_rows::<ModelVersionRow>(VERSIONS_TABLE, None)
            .await
        else {
            return RegistryError::UnknownModel {
                name: name.into(),
                hint: String::new(),
            };
        };
        let unknown = || RegistryError::UnknownModel {
            name: name.into(),
            hint: model_hint(name, now.iter().map(|v| v.name.as_str())),
        };
        let Some(at) = as_of else { return unknown() };
        match now
            .iter()
            .filter(|v| v.name == name)
            .map(|v| v.created_at)
            .min()
        {
            None => unknown(),
            Some(first) => RegistryError::NotYetRegistered {
                name: name.into(),
                as_of: at.to_rfc3339(),
                first: DateTime::<Utc>::from_timestamp_micros(first)
                    .map_or_else(|| first.to_string(), |t| t.to_rfc3339()),
            },
        }
    }

    /// Resolve and load: the artifact's SHA-256 is checked before parsing.
    pub async fn load(&self, r: &ModelRef) -> Result<ResolvedModel> {
        self.load_at(r, None).await
    }

    /// Resolve as of `as_of` (or now) and load.
    pub async fn load_at(
        &self,
        r: &ModelRef,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<ResolvedModel> {
        let version = self.resolve_at(r, as_of).await?;
        let model = self.load_version(&version.record).await?;
        Ok(ResolvedModel { version, model })
    }
}

/// Optimistic write of `R` rows into `table`: read it at version N, `decide`
/// the rows to add from what was read, commit only if the table is still at N;
/// on a race re-read and decide again (with jittered backoff).
pub(crate) async fn optimistic<R: TableRow>(
    table: &mut Table,
    name: &str,
    meta: HashMap<String, serde_json::Value>,
    mut decide: impl AsyncFnMut(Vec<R>) -> Result<Vec<R>>,
) -> Result<Vec<R>> {
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
            table.refresh().await?;
        }
        let (read_version, existing) = table.read_rows::<R>().await?;
        let rows = decide(existing).await?;
        match table
            .append_rows(&rows, meta.clone(), Some(read_version))
            .await
        {
            Ok(_) => return Ok(rows),
            Err(LakeError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(RegistryError::Contended {
        name: name.into(),
        attempts: MAX_ATTEMPTS,
    })
}

/// `registered` events for the versions of `name` that have none in `events`
/// (their registration was interrupted between its two commits).
fn unrecorded_registrations(
    versions: &[ModelVersionRow],
    events: &[ModelEventRow],
    name: &str,
) -> Vec<ModelEventRow> {
    let mut late: Vec<ModelEventRow> = versions
        .iter()
        .filter(|v| v.name == name)
        .filter(|v| {
            !events.iter().any(|e| {
                e.model_name == name
                    && e.event_type == EventKind::Registered
                    && e.version == Some(v.version)
            })
        })
        .map(|v| {
            let mut ev = new_event(
                name,
                Some(v.version),
                EventKind::Registered,
                &v.created_by,
                Some(LATE_REGISTRATION.to_string()),
            );
            ev.created_at = v.created_at;
            ev
        })
        .collect();
    late.sort_by_key(|e| e.version);
    late
}

/// What to say after "model X is not registered": the closest name, or that
/// the registry is empty.
fn model_hint<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> String {
    let names: std::collections::BTreeSet<&str> = names.collect();
    if names.is_empty() {
        return " (this lake's registry has no models)".into();
    }
    suggest::hint(name, names)
}

/// The model `name` in `state`.
pub(crate) fn model_in<'a>(state: &'a RegistryState, name: &str) -> Result<&'a ModelState> {
    state
        .models
        .get(name)
        .ok_or_else(|| RegistryError::UnknownModel {
            name: name.into(),
            hint: model_hint(name, state.models.keys().map(String::as_str)),
        })
}

/// Version `version` of `model`.
pub(crate) fn version_in<'a>(
    model: &'a ModelState,
    name: &str,
    version: i64,
) -> Result<&'a VersionState> {
    model
        .versions
        .get(&version)
        .ok_or(RegistryError::UnknownVersion {
            name: name.into(),
            version,
        })
}

/// Resolve `r` in `state`, with errors that name the model.
pub fn resolve_in<'a>(state: &'a RegistryState, r: &ModelRef) -> Result<&'a VersionState> {
    state.resolve(r).map_err(|e| {
        let name = r.name.clone();
        match e {
            ResolveError::UnknownModel => RegistryError::UnknownModel {
                hint: model_hint(&name, state.models.keys().map(String::as_str)),
                name,
            },
            ResolveError::UnknownVersion(version) => {
                RegistryError::UnknownVersion { name, version }
            }
            ResolveError::NoVersionInStage(stage) => {
                RegistryError::NoVersionInStage { name, stage }
            }
            ResolveError::UnknownAlias(alias) => {
                let known = state.models.get(&name).map(|m| m.aliases.keys());
                let hint = match known {
                    Some(keys) if keys.len() > 0 => {
                        let keys: Vec<&str> = keys.map(String::as_str).collect();
                        let close = suggest::hint(&alias, keys.iter().copied());
                        if close.is_empty() {
                            format!(" (its aliases: {})", keys.join(", "))
                        } else {
                            close
                        }
                    }
                    _ => " (it has no aliases)".to_string(),
                };
                RegistryError::UnknownAlias { name, alias, hint }
            }
            ResolveError::NoVersions => RegistryError::NoVersions { name },
        }
    })
}

pub(crate) fn new_event(
    name: &str,
    version: Option<i64>,
    kind: EventKind,
    actor: &str,
    comment: Option<String>,
) -> ModelEventRow {
    ModelEventRow {
        seq: 0,
        event_id: uuid::Uuid::new_v4().to_string(),
        model_name: name.into(),
        version,
        event_type: kind,
        from_stage: None,
        to_stage: None,
        alias: None,
        actor: actor.into(),
        comment,
        created_at: now_micros(),
        request_id: None,
        key: None,
        value: None,
        system_actor: Some(system_identity().to_string()),
    }
}

/// The longest tag value (MLflow's limit).
pub const MAX_TAG_VALUE_CHARS: usize = 8000;
/// The longest comment, description or setting.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Tag values, comments and descriptions within their limits.
fn check_text_lengths(ev: &ModelEventRow) -> Result<()> {
    let limit = |what: &str, text: Option<&String>, max: usize| match text {
        Some(t) if t.chars().count() > max => Err(RegistryError::Invalid {
            what: what.into(),
            message: format!(
                "{} characters ({}...); the limit is {max}",
                t.chars().count(),
                t.chars().take(40).collect::<String>()
            ),
        }),
        _ => Ok(()),
    };
    let value_max = if ev.event_type == EventKind::TagSet {
        MAX_TAG_VALUE_CHARS
    } else {
        MAX_TEXT_CHARS
    };
    limit("comment", ev.comment.as_ref(), MAX_TEXT_CHARS)?;
    limit("value", ev.value.as_ref(), value_max)?;
    limit("actor", Some(&ev.actor), 256)
}

fn governance_reason(refusal: &DecisionRefusal) -> String {
    match refusal {
        DecisionRefusal::SelfApproval { requester } => format!(
            "{requester} requested it, and a requester may not approve their own request \
             (`lakescore registry settings NAME --allow-self-approval true` permits it)"
        ),
        DecisionRefusal::NotAnApprover { approvers } => format!(
            "the approvers for this stage are {} (checked against the system identity: the \
             Kubernetes service account, $LAKESCORE_ACTOR set by the platform, or the OS user; \
             --actor is recorded but does not make anyone an approver)",
            approvers.join(", ")
        ),
    }
}

/// Jittered exponential backoff for optimistic retries (at most ~0.5 s).
async fn backoff(attempt: usize) {
    let base = 5u64 << attempt.min(6);
    let jitter = (uuid::Uuid::new_v4().as_u128() % u128::from(base)) as u64;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}
