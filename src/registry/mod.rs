//! The model registry: two Delta tables in the lake, MLflow-compatible semantics.
//!
//! Versions are immutable rows in `registry/model_versions`; every change is an
//! event row in `registry/model_events`; the current state (stages, aliases) is
//! the fold in [`state`]. Writes are optimistic: read the table at version N,
//! decide (the next version number, the next event `seq`), commit only if the
//! table is still at N, else re-read and decide again. Two processes
//! registering at once therefore never get the same version number.
//! Artifacts are stored content-addressed under `registry/artifacts/` and
//! checked against their SHA-256 on every load.

pub mod diff;
pub mod mlflow;
pub mod records;
pub mod state;
pub mod uri;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::drift::{self, DriftError, ReferenceProfile};
use crate::lake::{Lake, LakeError, Table};
use crate::model::{self, Flavor, Model, ModelError};
use records::{EVENTS_TABLE, ModelEventRow, ModelVersionRow, VERSIONS_TABLE};
use state::{
    EV_ALIAS_SET, EV_APPROVED, EV_COMMENT, EV_DESCRIPTION, EV_OWNER, EV_REGISTERED, EV_REJECTED,
    EV_REQUESTED, EV_ROLLBACK, EV_SETTING, EV_STAGE, EV_TAG_DELETED, EV_TAG_SET, RegistryState,
    RequestStatus, ResolveError, SETTING_REQUIRE_APPROVAL, TransitionRequest, VersionState,
};
use uri::{ModelRef, Stage};

/// How often an optimistic registry write is retried against concurrent writers.
const MAX_ATTEMPTS: usize = 50;

/// Registry errors; each names the model, version or alias concerned.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("bad model reference: {0}")]
    BadReference(String),
    #[error("model {name:?} is not registered (see `lakescore registry list`)")]
    UnknownModel { name: String },
    #[error("model {name:?} has no version {version}")]
    UnknownVersion { name: String, version: i64 },
    #[error("model {name:?} has no version in stage {stage}")]
    NoVersionInStage { name: String, stage: Stage },
    #[error("model {name:?} has no alias {alias:?}")]
    UnknownAlias { name: String, alias: String },
    #[error("model {name:?} has no versions")]
    NoVersions { name: String },
    #[error("invalid {what}: {message}")]
    Invalid { what: String, message: String },
    #[error("cannot read artifact {path}: {source}")]
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
    #[error("cannot read MLflow {what} {path}: {message}")]
    Mlflow {
        what: &'static str,
        path: String,
        message: String,
    },
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// What `register` needs.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    pub name: String,
    pub flavor: Flavor,
    pub artifact: std::path::PathBuf,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub actor: String,
    /// The reference profile captured from `--reference` data.
    pub profile: Option<ReferenceProfile>,
    /// Training metrics (`--metric`, or an MLflow run's).
    pub metrics: BTreeMap<String, f64>,
    /// Training parameters (`--param`, or an MLflow run's).
    pub params: BTreeMap<String, String>,
    /// An input signature given with the model (an MLflow model's), which
    /// must name every model feature; else the model's own.
    pub signature: Option<Vec<(String, String)>>,
    /// Names of the input columns where the artifact has none (an ONNX
    /// `[N, k]` tensor): `--features`, else the signature's names.
    pub features: Option<Vec<String>>,
}

impl RegisterRequest {
    /// Read the artifact and load it, with the input names the artifact may
    /// lack (`features`, else the signature's).
    pub fn load_model(&self) -> Result<(Vec<u8>, Box<dyn Model>)> {
        let source = self.artifact.display().to_string();
        let bytes = std::fs::read(&self.artifact).map_err(|e| RegistryError::ReadArtifact {
            path: source.clone(),
            source: e,
        })?;
        let names: Option<Vec<String>> = self.features.clone().or_else(|| {
            self.signature
                .as_ref()
                .map(|s| s.iter().map(|(n, _)| n.clone()).collect())
        });
        let model = model::load_named(self.flavor, &bytes, &source, names.as_deref())?;
        Ok((bytes, model))
    }
}

/// A metadata change to a model (`version` = None) or one version: one event.
#[derive(Debug, Clone)]
pub enum Annotation {
    SetTag {
        key: String,
        value: String,
    },
    DeleteTag {
        key: String,
    },
    Description(String),
    Owner(String),
    /// Stages that need an approved request (empty: none).
    RequireApproval(Vec<Stage>),
    Comment(String),
}

/// What a rollback gives back.
#[derive(Debug, Clone)]
pub enum RollbackTarget {
    Stage(Stage),
    Alias(String),
}

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
    chrono::Utc::now().timestamp_micros()
}

impl Registry {
    pub fn new(lake: Lake) -> Self {
        Self { lake }
    }

    async fn versions_table(&self) -> Result<Table> {
        Ok(self
            .lake
            .ensure_table(
                VERSIONS_TABLE,
                &records::versions_schema(),
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
                &records::events_schema(),
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
        Ok((
            self.table_rows(VERSIONS_TABLE, as_of).await?,
            self.table_rows(EVENTS_TABLE, as_of).await?,
        ))
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
        let mut events: Vec<ModelEventRow> = self.table_rows(EVENTS_TABLE, as_of).await?;
        events.retain(|e| e.model_name == name);
        if events.is_empty() {
            return Err(RegistryError::UnknownModel { name: name.into() });
        }
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }

    /// Register a new version of `req.name`; returns its row.
    pub async fn register(&self, req: &RegisterRequest) -> Result<ModelVersionRow> {
        uri::check_model_name(&req.name).map_err(|message| RegistryError::Invalid {
            what: "model name".into(),
            message,
        })?;
        let source = req.artifact.display().to_string();
        // Refuse what lakescore could not score, now rather than at the first run.
        let (bytes, loaded) = req.load_model()?;
        let signature = match &req.signature {
            None => loaded.signature(),
            Some(given) => {
                let missing: Vec<&String> = loaded
                    .features()
                    .iter()
                    .filter(|f| !given.iter().any(|(n, _)| n == *f))
                    .collect();
                if !missing.is_empty() {
                    return Err(RegistryError::Invalid {
                        what: "signature".into(),
                        message: format!(
                            "the model reads {missing:?}, which its signature does not list \
                             (signature: {:?})",
                            given.iter().map(|(n, _)| n).collect::<Vec<_>>()
                        ),
                    });
                }
                given.clone()
            }
        };
        let sha = crate::spec::sha256_hex(&bytes);
        let file_name = Path::new(&req.artifact)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        // Content-addressed: a writer that loses the version race never
        // overwrites the winner's artifact.
        let artifact_path = format!("registry/artifacts/{}/{sha}/{file_name}", req.name);
        self.lake.put_object(&artifact_path, bytes.clone()).await?;
        let (profile_path, profile_sha256) = match &req.profile {
            None => (None, None),
            Some(profile) => {
                let (json, values) = drift::encode_profile(profile);
                let sha = profile_sha(&json, &values);
                let dir = format!("registry/profiles/{}/{sha}", req.name);
                self.lake
                    .put_object(&format!("{dir}/profile.json"), json)
                    .await?;
                self.lake
                    .put_object(&format!("{dir}/values.bin"), values)
                    .await?;
                (Some(dir), Some(sha))
            }
        };

        let mut table = self.versions_table().await?;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
                table.refresh().await?;
            }
            let (read_version, rows) = table.read_rows::<ModelVersionRow>().await?;
            let next = rows
                .iter()
                .filter(|r| r.name == req.name)
                .map(|r| r.version)
                .max()
                .unwrap_or(0)
                + 1;
            let row = ModelVersionRow {
                name: req.name.clone(),
                version: next,
                flavor: req.flavor.to_string(),
                artifact_path: artifact_path.clone(),
                artifact_sha256: sha.clone(),
                artifact_bytes: bytes.len() as i64,
                source: source.clone(),
                features: loaded.features().to_vec(),
                summary: loaded.describe(),
                description: req.description.clone(),
                tags: serde_json::to_string(&req.tags).expect("tags serialize"),
                created_at: now_micros(),
                created_by: req.actor.clone(),
                lakescore_version: env!("CARGO_PKG_VERSION").into(),
                profile_path: profile_path.clone(),
                profile_sha256: profile_sha256.clone(),
                metrics: (!req.metrics.is_empty())
                    .then(|| serde_json::to_string(&req.metrics).expect("metrics serialize")),
                params: (!req.params.is_empty())
                    .then(|| serde_json::to_string(&req.params).expect("params serialize")),
                signature: Some(signature_json(&signature)),
                output_columns: Some(signature_json(
                    &std::iter::once("prediction".to_string())
                        .chain(loaded.output_columns())
                        .map(|c| (c, "double".to_string()))
                        .collect::<Vec<_>>(),
                )),
            };
            let meta = HashMap::from([
                ("lakescore.operation".to_string(), "register".into()),
                ("lakescore.model".to_string(), req.name.clone().into()),
                ("lakescore.version".to_string(), next.into()),
            ]);
            match table
                .append_rows(std::slice::from_ref(&row), meta, Some(read_version))
                .await
            {
                Ok(_) => {
                    self.append_events(&req.name, |_| {
                        Ok(vec![new_event(
                            &req.name,
                            Some(next),
                            EV_REGISTERED,
                            &req.actor,
                            None,
                        )])
                    })
                    .await?;
                    return Ok(row);
                }
                Err(LakeError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RegistryError::Contended {
            name: req.name.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Move `name` version `version` to `stage`; with `archive_existing`, other
    /// versions in that stage move to Archived in the same commit.
    pub async fn promote(
        &self,
        name: &str,
        version: i64,
        stage: Stage,
        archive_existing: bool,
        comment: Option<String>,
        actor: &str,
    ) -> Result<()> {
        self.append_events(name, |state| {
            let model = model_in(state, name)?;
            if model.require_approval.contains(&stage) {
                return Err(RegistryError::ApprovalRequired {
                    name: name.into(),
                    version,
                    stage,
                    stage_arg: stage.as_str().to_ascii_lowercase(),
                });
            }
            transition_events(
                model,
                name,
                version,
                stage,
                archive_existing,
                &comment,
                actor,
            )
        })
        .await?;
        Ok(())
    }

    /// Ask for `version` of `name` to move to `stage`; returns the request id.
    pub async fn request_transition(
        &self,
        name: &str,
        version: i64,
        stage: Stage,
        comment: Option<String>,
        actor: &str,
    ) -> Result<i64> {
        let events = self
            .append_events(name, |state| {
                let model = model_in(state, name)?;
                version_in(model, name, version)?;
                let mut ev = new_event(name, Some(version), EV_REQUESTED, actor, comment.clone());
                ev.to_stage = Some(stage.to_string());
                Ok(vec![ev])
            })
            .await?;
        Ok(events[0].seq)
    }

    /// Approve (making the transition in the same commit) or reject a pending
    /// request. Returns the request as decided.
    pub async fn decide_request(
        &self,
        id: i64,
        approve: bool,
        archive_existing: bool,
        comment: Option<String>,
        actor: &str,
    ) -> Result<TransitionRequest> {
        let state = self.state().await?;
        let name = state
            .request(id)
            .ok_or(RegistryError::UnknownRequest { id })?
            .model_name
            .clone();
        let decided = std::sync::Mutex::new(None);
        self.append_events(&name, |state| {
            let model = model_in(state, &name)?;
            let req = model
                .requests
                .get(&id)
                .ok_or(RegistryError::UnknownRequest { id })?;
            if req.status != RequestStatus::Pending {
                return Err(RegistryError::RequestDecided {
                    id,
                    name: name.clone(),
                    version: req.version,
                    status: format!("{:?}", req.status).to_lowercase(),
                });
            }
            let kind = if approve { EV_APPROVED } else { EV_REJECTED };
            let mut ev = new_event(&name, Some(req.version), kind, actor, comment.clone());
            ev.request_id = Some(id);
            ev.to_stage = Some(req.stage.to_string());
            let mut events = vec![ev];
            if approve {
                let why = Some(format!(
                    "approved request {id}{}",
                    comment
                        .as_deref()
                        .map(|c| format!(": {c}"))
                        .unwrap_or_default()
                ));
                events.extend(transition_events(
                    model,
                    &name,
                    req.version,
                    req.stage,
                    archive_existing,
                    &why,
                    actor,
                )?);
            }
            let mut done = req.clone();
            done.status = if approve {
                RequestStatus::Approved
            } else {
                RequestStatus::Rejected
            };
            done.decided_by = Some(actor.to_string());
            done.decision_comment = comment.clone();
            *decided.lock().expect("not poisoned") = Some(done);
            Ok(events)
        })
        .await?;
        Ok(decided
            .into_inner()
            .expect("not poisoned")
            .expect("decided when committed"))
    }

    /// Record a metadata change on the model (`version` None) or a version.
    pub async fn annotate(
        &self,
        name: &str,
        version: Option<i64>,
        change: Annotation,
        actor: &str,
    ) -> Result<()> {
        if let Annotation::SetTag { key, .. } | Annotation::DeleteTag { key } = &change {
            check_tag_key(key)?;
        }
        self.append_events(name, |state| {
            let model = model_in(state, name)?;
            let on = match version {
                Some(v) => format!(" version {}", version_in(model, name, v)?.record.version),
                None => String::new(),
            };
            let mut ev = new_event(name, version, EV_COMMENT, actor, None);
            match &change {
                Annotation::SetTag { key, value } => {
                    ev.event_type = EV_TAG_SET.into();
                    ev.key = Some(key.clone());
                    ev.value = Some(value.clone());
                }
                Annotation::DeleteTag { key } => {
                    let tags = match version {
                        Some(v) => model.versions[&v].tags(),
                        None => model.tags.clone(),
                    };
                    if !tags.contains_key(key) {
                        return Err(RegistryError::UnknownTag {
                            name: name.into(),
                            on,
                            key: key.clone(),
                        });
                    }
                    ev.event_type = EV_TAG_DELETED.into();
                    ev.key = Some(key.clone());
                }
                Annotation::Description(text) => {
                    ev.event_type = EV_DESCRIPTION.into();
                    ev.value = Some(text.clone());
                }
                Annotation::Owner(owner) => {
                    if version.is_some() {
                        return Err(RegistryError::Invalid {
                            what: "owner".into(),
                            message: "an owner belongs to the model, not to a version".into(),
                        });
                    }
                    ev.event_type = EV_OWNER.into();
                    ev.value = Some(owner.clone());
                }
                Annotation::RequireApproval(stages) => {
                    if version.is_some() {
                        return Err(RegistryError::Invalid {
                            what: "setting".into(),
                            message: "approval settings belong to the model, not to a version"
                                .into(),
                        });
                    }
                    ev.event_type = EV_SETTING.into();
                    ev.key = Some(SETTING_REQUIRE_APPROVAL.into());
                    let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
                    ev.value = Some(names.join(","));
                }
                Annotation::Comment(text) => ev.comment = Some(text.clone()),
            }
            Ok(vec![ev])
        })
        .await?;
        Ok(())
    }
}

/// The model `name` in `state`.
fn model_in<'a>(state: &'a RegistryState, name: &str) -> Result<&'a state::ModelState> {
    state
        .models
        .get(name)
        .ok_or_else(|| RegistryError::UnknownModel { name: name.into() })
}

/// Version `version` of `model`.
fn version_in<'a>(
    model: &'a state::ModelState,
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

/// Tag keys follow MLflow: at most 250 characters of letters, digits, `_-./ `.
fn check_tag_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 250
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || "_-./ ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::Invalid {
            what: "tag key".into(),
            message: format!(
                "{key:?} must be 1 to 250 letters, digits, '_', '-', '.', '/' or spaces"
            ),
        })
    }
}

/// The signature column's JSON text.
fn signature_json(signature: &[(String, String)]) -> String {
    let items: Vec<serde_json::Value> = signature
        .iter()
        .map(|(name, ty)| serde_json::json!({ "name": name, "type": ty }))
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// The events of moving `version` to `stage`, archiving the stage's other
/// holders when asked.
fn transition_events(
    model: &state::ModelState,
    name: &str,
    version: i64,
    stage: Stage,
    archive_existing: bool,
    comment: &Option<String>,
    actor: &str,
) -> Result<Vec<ModelEventRow>> {
    let current = version_in(model, name, version)?;
    let mut ev = new_event(name, Some(version), EV_STAGE, actor, comment.clone());
    ev.from_stage = Some(current.stage.to_string());
    ev.to_stage = Some(stage.to_string());
    let mut events = vec![ev];
    if archive_existing && matches!(stage, Stage::Staging | Stage::Production) {
        for other in model.versions.values() {
            if other.record.version != version && other.stage == stage {
                let mut ev = new_event(
                    name,
                    Some(other.record.version),
                    EV_STAGE,
                    actor,
                    Some(format!(
                        "archived by the promotion of version {version} to {stage}"
                    )),
                );
                ev.from_stage = Some(stage.to_string());
                ev.to_stage = Some(Stage::Archived.to_string());
                events.push(ev);
            }
        }
    }
    Ok(events)
}

impl Registry {
    /// Point `alias` of `name` at `version` (moving it if it pointed elsewhere).
    pub async fn set_alias(
        &self,
        name: &str,
        version: i64,
        alias: &str,
        comment: Option<String>,
        actor: &str,
    ) -> Result<()> {
        uri::check_alias(alias).map_err(|message| RegistryError::Invalid {
            what: "alias".into(),
            message,
        })?;
        self.append_events(name, |state| {
            version_in(model_in(state, name)?, name, version)?;
            let mut ev = new_event(name, Some(version), EV_ALIAS_SET, actor, comment.clone());
            ev.alias = Some(alias.to_string());
            Ok(vec![ev])
        })
        .await?;
        Ok(())
    }

    /// Give `target` (a stage or an alias) back to the version that held it
    /// before the current one; repeated rollbacks walk further back. For a
    /// stage, the current holder moves to Archived in the same commit.
    /// Returns (rolled-back version, restored version).
    pub async fn rollback(
        &self,
        name: &str,
        target: &RollbackTarget,
        comment: Option<String>,
        actor: &str,
    ) -> Result<(i64, i64)> {
        let chosen = std::sync::Mutex::new((0, 0));
        self.append_events(name, |state| {
            let model = model_in(state, name)?;
            let none_before = |what: String| RegistryError::Invalid {
                what: "rollback".into(),
                message: format!("no earlier version of {name:?} held {what}"),
            };
            let (current, previous) = match target {
                RollbackTarget::Stage(stage) => model
                    .stage_rollback_target(*stage)
                    .ok_or_else(|| none_before(format!("stage {stage}")))?,
                RollbackTarget::Alias(alias) => model
                    .alias_rollback_target(alias)
                    .ok_or_else(|| none_before(format!("alias @{alias}")))?,
            };
            *chosen.lock().expect("not poisoned") = (current, previous);
            let mut events = Vec::new();
            let mut back = new_event(name, Some(previous), EV_ROLLBACK, actor, comment.clone());
            match target {
                RollbackTarget::Stage(stage) => {
                    let mut archive = new_event(
                        name,
                        Some(current),
                        EV_STAGE,
                        actor,
                        Some(format!("rolled back from {stage} to version {previous}")),
                    );
                    archive.from_stage = Some(stage.to_string());
                    archive.to_stage = Some(Stage::Archived.to_string());
                    events.push(archive);
                    back.from_stage = model.versions.get(&previous).map(|v| v.stage.to_string());
                    back.to_stage = Some(stage.to_string());
                }
                RollbackTarget::Alias(alias) => back.alias = Some(alias.clone()),
            }
            events.push(back);
            Ok(events)
        })
        .await?;
        Ok(chosen.into_inner().expect("not poisoned"))
    }

    /// Decide events against the latest state and commit them, retrying on
    /// races; returns the committed events (with their `seq`).
    async fn append_events<F>(&self, name: &str, decide: F) -> Result<Vec<ModelEventRow>>
    where
        F: Fn(&RegistryState) -> Result<Vec<ModelEventRow>>,
    {
        let mut events_table = self.events_table().await?;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
                events_table.refresh().await?;
            }
            let (read_version, existing) = events_table.read_rows::<ModelEventRow>().await?;
            let versions = self.table_rows(VERSIONS_TABLE, None).await?;
            let next_seq = existing.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
            let state = RegistryState::fold(versions, existing);
            let mut events = decide(&state)?;
            for (i, ev) in events.iter_mut().enumerate() {
                ev.seq = next_seq + i as i64;
                if ev.event_type == EV_REQUESTED {
                    ev.request_id = Some(ev.seq);
                }
            }
            let meta = HashMap::from([
                ("lakescore.operation".to_string(), "registry_event".into()),
                ("lakescore.model".to_string(), name.into()),
            ]);
            match events_table
                .append_rows(&events, meta, Some(read_version))
                .await
            {
                Ok(_) => return Ok(events),
                Err(LakeError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RegistryError::Contended {
            name: name.into(),
            attempts: MAX_ATTEMPTS,
        })
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
        resolve_in(&state, r).cloned()
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

    /// Load the artifact of a version row, checking its hash.
    pub async fn load_version(&self, row: &ModelVersionRow) -> Result<Box<dyn Model>> {
        let bytes = self.lake.get_object(&row.artifact_path).await?;
        let found = crate::spec::sha256_hex(&bytes);
        if found != row.artifact_sha256 {
            return Err(RegistryError::Tampered {
                what: "artifact",
                name: row.name.clone(),
                version: row.version,
                path: format!("{}{}", self.lake.root(), row.artifact_path),
                expected: row.artifact_sha256.clone(),
                found,
            });
        }
        let flavor: Flavor = row
            .flavor
            .parse()
            .map_err(|message| RegistryError::Invalid {
                what: format!("flavor of {} version {}", row.name, row.version),
                message,
            })?;
        let source = format!("{}{}", self.lake.root(), row.artifact_path);
        Ok(model::load_named(
            flavor,
            &bytes,
            &source,
            Some(&row.features),
        )?)
    }
}

/// The content hash of a stored profile: SHA-256 over the summary, then the values.
fn profile_sha(json: &[u8], values: &[u8]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(json);
    h.update(values);
    hex::encode(h.finalize())
}

impl Registry {
    /// The reference profile of a version (checked against its hash), if it has one.
    pub async fn load_profile(&self, row: &ModelVersionRow) -> Result<Option<ReferenceProfile>> {
        let (Some(dir), Some(expected)) = (&row.profile_path, &row.profile_sha256) else {
            return Ok(None);
        };
        let json = self.lake.get_object(&format!("{dir}/profile.json")).await?;
        let values = self.lake.get_object(&format!("{dir}/values.bin")).await?;
        let found = profile_sha(&json, &values);
        let path = format!("{}{dir}", self.lake.root());
        if &found != expected {
            return Err(RegistryError::Tampered {
                what: "reference profile",
                name: row.name.clone(),
                version: row.version,
                path,
                expected: expected.clone(),
                found,
            });
        }
        Ok(Some(drift::decode_profile(&json, &values, &path)?))
    }
}

/// Resolve `r` in `state`, with errors that name the model.
pub fn resolve_in<'a>(state: &'a RegistryState, r: &ModelRef) -> Result<&'a VersionState> {
    state.resolve(r).map_err(|e| {
        let name = r.name.clone();
        match e {
            ResolveError::UnknownModel => RegistryError::UnknownModel { name },
            ResolveError::UnknownVersion(version) => {
                RegistryError::UnknownVersion { name, version }
            }
            ResolveError::NoVersionInStage(stage) => {
                RegistryError::NoVersionInStage { name, stage }
            }
            ResolveError::UnknownAlias(alias) => RegistryError::UnknownAlias { name, alias },
            ResolveError::NoVersions => RegistryError::NoVersions { name },
        }
    })
}

fn new_event(
    name: &str,
    version: Option<i64>,
    kind: &str,
    actor: &str,
    comment: Option<String>,
) -> ModelEventRow {
    ModelEventRow {
        seq: 0,
        event_id: uuid::Uuid::new_v4().to_string(),
        model_name: name.into(),
        version,
        event_type: kind.into(),
        from_stage: None,
        to_stage: None,
        alias: None,
        actor: actor.into(),
        comment,
        created_at: now_micros(),
        request_id: None,
        key: None,
        value: None,
    }
}

/// Jittered exponential backoff for optimistic retries (at most ~0.5 s).
async fn backoff(attempt: usize) {
    let base = 5u64 << attempt.min(6);
    let jitter = (uuid::Uuid::new_v4().as_u128() % base as u128) as u64;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// The acting user: explicit, else `$LAKESCORE_ACTOR`, `$USER`, `$LOGNAME`.
pub fn default_actor() -> String {
    ["LAKESCORE_ACTOR", "USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}
