//! Stage transitions, transition requests and their decisions, aliases and
//! rollbacks: each one optimistic commit of events to `registry/model_events`.

use lakescore_core::registry::EventKind;
use lakescore_core::registry::ModelEventRow;
use lakescore_core::registry::state::{ModelState, RequestStatus, TransitionRequest};
use lakescore_core::uri::{self, Stage};

use super::{Registry, RegistryError, Result, model_in, new_event, system_identity, version_in};

/// The decider as an error names them: the claim, and the system identity if it differs.
fn describe_decider(actor: &str) -> String {
    let system = system_identity();
    if actor == system {
        actor.to_string()
    } else {
        format!("{actor} (as {system})")
    }
}

/// What a rollback gives back.
#[derive(Debug, Clone)]
pub enum RollbackTarget {
    Stage(Stage),
    Alias(String),
}

impl Registry {
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
                let mut ev = new_event(
                    name,
                    Some(version),
                    EventKind::TransitionRequested,
                    actor,
                    comment.clone(),
                );
                ev.to_stage = Some(stage);
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
            model
                .check_decision(req, approve, actor, system_identity())
                .map_err(|refusal| RegistryError::Governance {
                    id,
                    name: name.clone(),
                    stage: req.stage,
                    decider: describe_decider(actor),
                    refusal,
                })?;
            let kind = if approve {
                EventKind::TransitionApproved
            } else {
                EventKind::TransitionRejected
            };
            let mut ev = new_event(&name, Some(req.version), kind, actor, comment.clone());
            let decided_at = ev.created_at;
            ev.request_id = Some(id);
            ev.to_stage = Some(req.stage);
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
            done.decided_by_system = Some(system_identity().to_string());
            done.decided_at = Some(decided_at);
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
            let mut ev = new_event(
                name,
                Some(version),
                EventKind::AliasSet,
                actor,
                comment.clone(),
            );
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
            let mut back = new_event(
                name,
                Some(previous),
                EventKind::Rollback,
                actor,
                comment.clone(),
            );
            match target {
                RollbackTarget::Stage(stage) => {
                    let mut archive = new_event(
                        name,
                        Some(current),
                        EventKind::StageTransition,
                        actor,
                        Some(format!("rolled back from {stage} to version {previous}")),
                    );
                    archive.from_stage = Some(*stage);
                    archive.to_stage = Some(Stage::Archived);
                    events.push(archive);
                    back.from_stage = model.versions.get(&previous).map(|v| v.stage);
                    back.to_stage = Some(*stage);
                }
                RollbackTarget::Alias(alias) => back.alias = Some(alias.clone()),
            }
            events.push(back);
            Ok(events)
        })
        .await?;
        Ok(chosen.into_inner().expect("not poisoned"))
    }
}

/// The events of moving `version` to `stage`, archiving the stage's other
/// holders when asked.
fn transition_events(
    model: &ModelState,
    name: &str,
    version: i64,
    stage: Stage,
    archive_existing: bool,
    comment: &Option<String>,
    actor: &str,
) -> Result<Vec<ModelEventRow>> {
    let current = version_in(model, name, version)?;
    let mut ev = new_event(
        name,
        Some(version),
        EventKind::StageTransition,
        actor,
        comment.clone(),
    );
    ev.from_stage = Some(current.stage);
    ev.to_stage = Some(stage);
    let mut events = vec![ev];
    if archive_existing && matches!(stage, Stage::Staging | Stage::Production) {
        for other in model.versions.values() {
            if other.record.version != version && other.stage == stage {
                let mut ev = new_event(
                    name,
                    Some(other.record.version),
                    EventKind::StageTransition,
                    actor,
                    Some(format!(
                        "archived by the promotion of version {version} to {stage}"
                    )),
                );
                ev.from_stage = Some(stage);
                ev.to_stage = Some(Stage::Archived);
                events.push(ev);
            }
        }
    }
    Ok(events)
}
