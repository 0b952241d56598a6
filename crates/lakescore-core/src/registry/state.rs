//! Registry state as a fold over events: each version's stage, each alias's
//! version, tags, descriptions, owner, settings and transition requests. Pure:
//! the same fold over a Delta time-travel version of the tables gives the
//! registry as it stood then.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::events::{
    EventKind, SETTING_ALLOW_SELF_APPROVAL, SETTING_APPROVERS_PREFIX, SETTING_REQUIRE_APPROVAL,
};
use super::rows::{ModelEventRow, ModelVersionRow};
use crate::uri::{ModelRef, ModelSelector, Stage};

/// A comment, as `registry show` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    pub at: i64,
    pub actor: String,
    pub text: String,
}

/// Where a transition request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

/// A stage transition request (MLflow/Databricks transition requests).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionRequest {
    pub id: i64,
    pub model_name: String,
    pub version: i64,
    pub stage: Stage,
    pub status: RequestStatus,
    pub requested_by: String,
    /// The requester as the system saw them (see `ModelEventRow::system_actor`).
    pub requested_by_system: Option<String>,
    pub requested_at: i64,
    pub comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_by_system: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_comment: Option<String>,
}

/// One version with its current stage and aliases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionState {
    #[serde(flatten)]
    pub record: ModelVersionRow,
    pub stage: Stage,
    pub aliases: Vec<String>,
    pub comments: Vec<Comment>,
}

/// One registered model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelState {
    pub versions: BTreeMap<i64, VersionState>,
    pub aliases: BTreeMap<String, i64>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub comments: Vec<Comment>,
    /// Stages a version may enter only through an approved request.
    pub require_approval: BTreeSet<Stage>,
    /// Per stage, who may decide requests into it (system identities); a
    /// stage not listed may be decided by anyone.
    pub approvers: BTreeMap<Stage, BTreeSet<String>>,
    /// Whether a requester may approve their own request.
    pub allow_self_approval: bool,
    /// Transition requests by id, pending or decided.
    pub requests: BTreeMap<i64, TransitionRequest>,
    /// Versions that entered each stage, oldest first; a rollback pops the last.
    #[serde(skip)]
    pub stage_holders: BTreeMap<Stage, Vec<i64>>,
    /// Versions each alias pointed at, oldest first; a rollback pops the last.
    #[serde(skip)]
    pub alias_holders: BTreeMap<String, Vec<i64>>,
}

impl ModelState {
    /// Apply one event (events arrive in `seq` order).
    fn apply(&mut self, ev: &ModelEventRow) {
        let rollback = ev.event_type == EventKind::Rollback;
        match &ev.event_type {
            EventKind::StageTransition | EventKind::Rollback if ev.to_stage.is_some() => {
                if let (Some(v), Some(stage)) = (ev.version, ev.to_stage)
                    && let Some(vs) = self.versions.get_mut(&v)
                {
                    vs.stage = stage;
                    let stack = self.stage_holders.entry(stage).or_default();
                    if rollback {
                        stack.pop();
                    }
                    push_holder(stack, v);
                }
            }
            EventKind::AliasSet | EventKind::Rollback => {
                if let (Some(v), Some(alias)) = (ev.version, ev.alias.clone())
                    && self.versions.contains_key(&v)
                {
                    let stack = self.alias_holders.entry(alias.clone()).or_default();
                    if rollback {
                        stack.pop();
                    }
                    push_holder(stack, v);
                    self.aliases.insert(alias, v);
                }
            }
            EventKind::AliasRemoved => {
                if let Some(alias) = &ev.alias {
                    self.aliases.remove(alias);
                }
            }
            EventKind::TransitionRequested => {
                if let (Some(id), Some(version), Some(stage)) =
                    (ev.request_id, ev.version, ev.to_stage)
                {
                    self.requests.insert(
                        id,
                        TransitionRequest {
                            id,
                            model_name: ev.model_name.clone(),
                            version,
                            stage,
                            status: RequestStatus::Pending,
                            requested_by: ev.actor.clone(),
                            requested_by_system: ev.system_actor.clone(),
                            requested_at: ev.created_at,
                            comment: ev.comment.clone(),
                            decided_by: None,
                            decided_by_system: None,
                            decided_at: None,
                            decision_comment: None,
                        },
                    );
                }
            }
            EventKind::TransitionApproved | EventKind::TransitionRejected => {
                if let Some(req) = ev.request_id.and_then(|id| self.requests.get_mut(&id)) {
                    req.status = if ev.event_type == EventKind::TransitionApproved {
                        RequestStatus::Approved
                    } else {
                        RequestStatus::Rejected
                    };
                    req.decided_by = Some(ev.actor.clone());
                    req.decided_by_system = ev.system_actor.clone();
                    req.decided_at = Some(ev.created_at);
                    req.decision_comment = ev.comment.clone();
                }
            }
            EventKind::TagSet | EventKind::TagDeleted => {
                let Some(key) = ev.key.clone() else { return };
                let value = ev
                    .value
                    .clone()
                    .filter(|_| ev.event_type == EventKind::TagSet);
                match ev.version {
                    None => set_or_remove(&mut self.tags, key, value),
                    Some(v) => {
                        if let Some(vs) = self.versions.get_mut(&v) {
                            let mut tags = vs.tags();
                            set_or_remove(&mut tags, key, value);
                            vs.record.tags = serde_json::to_string(&tags).expect("tags serialize");
                        }
                    }
                }
            }
            EventKind::DescriptionSet => match ev.version {
                None => self.description = ev.value.clone(),
                Some(v) => {
                    if let Some(vs) = self.versions.get_mut(&v) {
                        vs.record.description = ev.value.clone();
                    }
                }
            },
            EventKind::OwnerSet => self.owner = ev.value.clone(),
            EventKind::SettingSet if ev.key.as_deref() == Some(SETTING_REQUIRE_APPROVAL) => {
                self.require_approval =
                    parse_stage_list(ev.value.as_deref().unwrap_or("")).unwrap_or_default();
            }
            EventKind::SettingSet if ev.key.as_deref() == Some(SETTING_ALLOW_SELF_APPROVAL) => {
                self.allow_self_approval = ev.value.as_deref() == Some("true");
            }
            EventKind::SettingSet => {
                let stage = ev
                    .key
                    .as_deref()
                    .and_then(|k| k.strip_prefix(SETTING_APPROVERS_PREFIX))
                    .and_then(|s| s.parse::<Stage>().ok());
                if let Some(stage) = stage {
                    let names = parse_identity_list(ev.value.as_deref().unwrap_or(""));
                    if names.is_empty() {
                        self.approvers.remove(&stage);
                    } else {
                        self.approvers.insert(stage, names);
                    }
                }
            }
            EventKind::Comment => {
                let comment = Comment {
                    at: ev.created_at,
                    actor: ev.actor.clone(),
                    text: ev.comment.clone().unwrap_or_default(),
                };
                match ev.version.and_then(|v| self.versions.get_mut(&v)) {
                    Some(vs) => vs.comments.push(comment),
                    None => self.comments.push(comment),
                }
            }
            _ => {}
        }
    }

    /// The version a rollback of `stage` restores: the holder before the current one.
    pub fn stage_rollback_target(&self, stage: Stage) -> Option<(i64, i64)> {
        previous_of(self.stage_holders.get(&stage)?)
    }

    /// The version a rollback of `alias` restores.
    pub fn alias_rollback_target(&self, alias: &str) -> Option<(i64, i64)> {
        previous_of(self.alias_holders.get(alias)?)
    }
}

/// (current, previous) of a holder stack.
fn previous_of(stack: &[i64]) -> Option<(i64, i64)> {
    match stack {
        [.., previous, current] => Some((*current, *previous)),
        _ => None,
    }
}

fn set_or_remove(map: &mut BTreeMap<String, String>, key: String, value: Option<String>) {
    match value {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}

/// Parse a comma-separated list of stages (`none` or empty: no stage).
pub fn parse_stage_list(text: &str) -> Result<BTreeSet<Stage>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("none"))
        .map(str::parse::<Stage>)
        .collect()
}

/// Comma-separated identities (empty entries dropped).
pub fn parse_identity_list(text: &str) -> BTreeSet<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Why a request may not be decided by someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionRefusal {
    /// The decider requested it (by claimed or system identity).
    SelfApproval { requester: String },
    /// Approvers are set for the stage and the decider is not one.
    NotAnApprover { approvers: Vec<String> },
}

impl ModelState {
    /// May `actor` (claimed) running as `system` (system identity) decide
    /// `req`? Approvers are checked against the system identity, which
    /// `--actor` cannot change; self-approval against both.
    pub fn check_decision(
        &self,
        req: &TransitionRequest,
        approve: bool,
        actor: &str,
        system: &str,
    ) -> Result<(), DecisionRefusal> {
        if let Some(approvers) = self.approvers.get(&req.stage)
            && !approvers.contains(system)
        {
            return Err(DecisionRefusal::NotAnApprover {
                approvers: approvers.iter().cloned().collect(),
            });
        }
        let same_person =
            req.requested_by == actor || req.requested_by_system.as_deref() == Some(system);
        if approve && same_person && !self.allow_self_approval {
            return Err(DecisionRefusal::SelfApproval {
                requester: match &req.requested_by_system {
                    Some(sys) if *sys != req.requested_by => {
                        format!("{} (as {sys})", req.requested_by)
                    }
                    _ => req.requested_by.clone(),
                },
            });
        }
        Ok(())
    }
}

impl VersionState {
    /// The version's current tags.
    pub fn tags(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.record.tags).unwrap_or_default()
    }
}

fn push_holder(stack: &mut Vec<i64>, version: i64) {
    if stack.last() != Some(&version) {
        stack.push(version);
    }
}

/// Every model, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegistryState {
    pub models: BTreeMap<String, ModelState>,
}

impl RegistryState {
    /// A transition request by id, whichever model it belongs to.
    pub fn request(&self, id: i64) -> Option<&TransitionRequest> {
        self.models.values().find_map(|m| m.requests.get(&id))
    }
}

/// Why a reference does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    UnknownModel,
    UnknownVersion(i64),
    NoVersionInStage(Stage),
    UnknownAlias(String),
    NoVersions,
}

impl RegistryState {
    /// Fold `versions` and `events` (any order; events are applied by `seq`).
    pub fn fold(versions: Vec<ModelVersionRow>, mut events: Vec<ModelEventRow>) -> Self {
        let mut models: BTreeMap<String, ModelState> = BTreeMap::new();
        for record in versions {
            models
                .entry(record.name.clone())
                .or_default()
                .versions
                .insert(
                    record.version,
                    VersionState {
                        record,
                        stage: Stage::None,
                        aliases: Vec::new(),
                        comments: Vec::new(),
                    },
                );
        }
        events.sort_by_key(|e| e.seq);
        for ev in &events {
            let Some(model) = models.get_mut(&ev.model_name) else {
                continue;
            };
            model.apply(ev);
        }
        for model in models.values_mut() {
            for (alias, v) in &model.aliases {
                if let Some(vs) = model.versions.get_mut(v) {
                    vs.aliases.push(alias.clone());
                }
            }
        }
        RegistryState { models }
    }

    /// Resolve a reference to one version.
    pub fn resolve(&self, r: &ModelRef) -> Result<&VersionState, ResolveError> {
        let model = self.models.get(&r.name).ok_or(ResolveError::UnknownModel)?;
        match &r.selector {
            ModelSelector::Version(v) => model
                .versions
                .get(v)
                .ok_or(ResolveError::UnknownVersion(*v)),
            // MLflow: the highest version number currently in that stage.
            ModelSelector::Stage(s) => model
                .versions
                .values()
                .rev()
                .find(|vs| vs.stage == *s)
                .ok_or(ResolveError::NoVersionInStage(*s)),
            ModelSelector::Alias(a) => model
                .aliases
                .get(a)
                .and_then(|v| model.versions.get(v))
                .ok_or_else(|| ResolveError::UnknownAlias(a.clone())),
            ModelSelector::Latest => model
                .versions
                .values()
                .next_back()
                .ok_or(ResolveError::NoVersions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EV_STAGE: &str = "stage_transition";
    const EV_ALIAS_SET: &str = "alias_set";
    const EV_ALIAS_REMOVED: &str = "alias_removed";
    const EV_ROLLBACK: &str = "rollback";
    const EV_REQUESTED: &str = "transition_requested";
    const EV_APPROVED: &str = "transition_approved";
    const EV_REJECTED: &str = "transition_rejected";
    const EV_TAG_SET: &str = "tag_set";
    const EV_TAG_DELETED: &str = "tag_deleted";
    const EV_DESCRIPTION: &str = "description_set";
    const EV_OWNER: &str = "owner_set";
    const EV_SETTING: &str = "setting_set";

    fn version(name: &str, v: i64) -> ModelVersionRow {
        ModelVersionRow {
            name: name.into(),
            version: v,
            flavor: crate::Flavor::Linear,
            artifact_path: String::new(),
            artifact_sha256: String::new(),
            artifact_bytes: 0,
            source: String::new(),
            features: vec![],
            summary: String::new(),
            description: None,
            tags: "{}".into(),
            created_at: 0,
            created_by: "t".into(),
            lakescore_version: "0".into(),
            profile_path: None,
            profile_sha256: None,
            metrics: None,
            params: None,
            signature: None,
            output_columns: None,
        }
    }

    fn event(
        seq: i64,
        kind: &str,
        v: i64,
        stage: Option<&str>,
        alias: Option<&str>,
    ) -> ModelEventRow {
        ModelEventRow {
            seq,
            event_id: seq.to_string(),
            model_name: "m".into(),
            version: Some(v),
            event_type: EventKind::from(kind.to_string()),
            from_stage: None,
            to_stage: stage.map(|s| s.parse().unwrap()),
            alias: alias.map(Into::into),
            actor: "t".into(),
            comment: None,
            created_at: seq,
            request_id: None,
            key: None,
            value: None,
            system_actor: None,
        }
    }

    fn r(s: &str) -> ModelRef {
        s.parse().unwrap()
    }

    fn version_of(s: &RegistryState, uri: &str) -> i64 {
        s.resolve(&r(uri)).unwrap().record.version
    }

    #[test]
    fn fold_applies_events_in_seq_order() {
        let versions = vec![version("m", 1), version("m", 2), version("m", 3)];
        // Deliberately shuffled: the fold sorts by seq.
        let events = vec![
            event(3, EV_STAGE, 2, Some("Production"), None),
            event(1, EV_STAGE, 1, Some("Production"), None),
            event(4, EV_STAGE, 1, Some("Archived"), None),
            event(2, EV_ALIAS_SET, 1, None, Some("champion")),
            event(5, EV_ALIAS_SET, 3, None, Some("champion")),
        ];
        let s = RegistryState::fold(versions, events);
        assert_eq!(version_of(&s, "models:/m/Production"), 2);
        assert_eq!(version_of(&s, "models:/m/archived"), 1);
        assert_eq!(version_of(&s, "models:/m@champion"), 3);
        assert_eq!(version_of(&s, "models:/m/latest"), 3);
        assert_eq!(version_of(&s, "models:/m/2"), 2);
        assert_eq!(
            s.models["m"].versions[&3].aliases,
            vec!["champion".to_string()]
        );
        assert!(s.models["m"].versions[&1].aliases.is_empty());
    }

    #[test]
    fn unresolvable_references_say_why() {
        let s = RegistryState::fold(vec![version("m", 1)], vec![]);
        assert_eq!(
            s.resolve(&r("models:/x/1")).unwrap_err(),
            ResolveError::UnknownModel
        );
        assert_eq!(
            s.resolve(&r("models:/m/7")).unwrap_err(),
            ResolveError::UnknownVersion(7)
        );
        assert_eq!(
            s.resolve(&r("models:/m/Production")).unwrap_err(),
            ResolveError::NoVersionInStage(Stage::Production)
        );
        assert_eq!(
            s.resolve(&r("models:/m@gone")).unwrap_err(),
            ResolveError::UnknownAlias("gone".into())
        );
    }

    #[test]
    fn rollbacks_walk_back_through_earlier_holders() {
        let versions = vec![version("m", 1), version("m", 2), version("m", 3)];
        let mut events = vec![
            event(1, EV_STAGE, 1, Some("Production"), None),
            event(2, EV_STAGE, 2, Some("Production"), None),
            event(3, EV_STAGE, 3, Some("Production"), None),
        ];
        let s = RegistryState::fold(versions.clone(), events.clone());
        assert_eq!(
            s.models["m"].stage_rollback_target(Stage::Production),
            Some((3, 2))
        );
        events.push(event(4, EV_STAGE, 3, Some("Archived"), None));
        events.push(event(5, EV_ROLLBACK, 2, Some("Production"), None));
        let s = RegistryState::fold(versions.clone(), events.clone());
        assert_eq!(version_of(&s, "models:/m/Production"), 2);
        assert_eq!(
            s.models["m"].stage_rollback_target(Stage::Production),
            Some((2, 1))
        );
        events.push(event(6, EV_STAGE, 2, Some("Archived"), None));
        events.push(event(7, EV_ROLLBACK, 1, Some("Production"), None));
        let s = RegistryState::fold(versions, events);
        assert_eq!(version_of(&s, "models:/m/Production"), 1);
        assert_eq!(s.models["m"].stage_rollback_target(Stage::Production), None);
    }

    fn setting(seq: i64, key: &str, value: &str) -> ModelEventRow {
        let mut ev = event(seq, "setting_set", 1, None, None);
        ev.version = None;
        ev.key = Some(key.into());
        ev.value = Some(value.into());
        ev
    }

    #[test]
    fn decisions_need_an_approver_who_is_not_the_requester() {
        let mut request = event(2, "transition_requested", 1, Some("Production"), None);
        request.request_id = Some(2);
        request.actor = "alice".into();
        request.system_actor = Some("alice-laptop".into());
        let mut events = vec![request];
        let state = |events: &[ModelEventRow]| {
            RegistryState::fold(vec![version("m", 1)], events.to_vec()).models["m"].clone()
        };
        let m = state(&events);
        let req = &m.requests[&2];
        // Alice approving her own request: refused by claim and by system identity.
        let self_approval = Err(DecisionRefusal::SelfApproval {
            requester: "alice (as alice-laptop)".into(),
        });
        assert_eq!(m.check_decision(req, true, "alice", "ci"), self_approval);
        assert_eq!(
            m.check_decision(req, true, "bob", "alice-laptop"),
            self_approval
        );
        // She may withdraw it (reject), and Bob may approve it.
        assert_eq!(
            m.check_decision(req, false, "alice", "alice-laptop"),
            Ok(())
        );
        assert_eq!(m.check_decision(req, true, "bob", "bob"), Ok(()));

        // Approvers for Production: only those system identities decide.
        events.push(setting(3, "approvers.production", "carol, dave"));
        let m = state(&events);
        let req = &m.requests[&2];
        let not_approver = Err(DecisionRefusal::NotAnApprover {
            approvers: vec!["carol".into(), "dave".into()],
        });
        assert_eq!(m.check_decision(req, true, "bob", "bob"), not_approver);
        assert_eq!(
            m.check_decision(req, true, "carol", "bob"),
            not_approver,
            "--actor is a claim"
        );
        assert_eq!(m.check_decision(req, true, "bob", "carol"), Ok(()));

        // Allowing self-approval, an approver may approve their own request.
        events.push(setting(4, "approvers.production", "alice-laptop"));
        let m = state(&events);
        assert_eq!(
            m.check_decision(&m.requests[&2], true, "alice", "alice-laptop"),
            self_approval
        );
        events.push(setting(5, "allow_self_approval", "true"));
        let m = state(&events);
        assert_eq!(
            m.check_decision(&m.requests[&2], true, "alice", "alice-laptop"),
            Ok(())
        );
        // An empty list removes the stage's approvers.
        events.push(setting(6, "approvers.production", ""));
        assert!(state(&events).approvers.is_empty());
    }

    #[test]
    fn removed_alias_no_longer_resolves() {
        let s = RegistryState::fold(
            vec![version("m", 1)],
            vec![
                event(1, EV_ALIAS_SET, 1, None, Some("a")),
                event(2, EV_ALIAS_REMOVED, 1, None, Some("a")),
            ],
        );
        assert!(s.resolve(&r("models:/m@a")).is_err());
    }

    #[test]
    fn requests_tags_descriptions_and_settings_fold_in_order() {
        let mut request = event(1, EV_REQUESTED, 1, Some("Production"), None);
        request.request_id = Some(1);
        let mut rejected = event(2, EV_REJECTED, 1, Some("Production"), None);
        rejected.request_id = Some(1);
        let mut request2 = event(3, EV_REQUESTED, 1, Some("Production"), None);
        request2.request_id = Some(3);
        let mut approved = event(4, EV_APPROVED, 1, Some("Production"), None);
        approved.request_id = Some(3);
        let transition = event(5, EV_STAGE, 1, Some("Production"), None);
        let meta =
            |seq, kind: &str, version: Option<i64>, key: Option<&str>, value: Option<&str>| {
                let mut e = event(seq, kind, 0, None, None);
                e.version = version;
                e.key = key.map(Into::into);
                e.value = value.map(Into::into);
                e
            };
        let events = vec![
            request,
            rejected,
            request2,
            approved,
            transition,
            meta(6, EV_TAG_SET, Some(1), Some("team"), Some("risk")),
            meta(7, EV_TAG_SET, Some(1), Some("tmp"), Some("x")),
            meta(8, EV_TAG_DELETED, Some(1), Some("tmp"), None),
            meta(9, EV_TAG_SET, None, Some("domain"), Some("churn")),
            meta(10, EV_DESCRIPTION, None, None, Some("model about")),
            meta(11, EV_DESCRIPTION, Some(1), None, Some("version about")),
            meta(12, EV_OWNER, None, None, Some("ana")),
            meta(
                13,
                EV_SETTING,
                None,
                Some(SETTING_REQUIRE_APPROVAL),
                Some("Production,Staging"),
            ),
            meta(
                14,
                EV_SETTING,
                None,
                Some(SETTING_REQUIRE_APPROVAL),
                Some("Production"),
            ),
        ];
        let s = RegistryState::fold(vec![version("m", 1)], events);
        let m = &s.models["m"];
        assert_eq!(m.requests[&1].status, RequestStatus::Rejected);
        assert_eq!(m.requests[&3].status, RequestStatus::Approved);
        assert_eq!(s.request(3).unwrap().decided_by.as_deref(), Some("t"));
        assert_eq!(version_of(&s, "models:/m/Production"), 1);
        let v = &m.versions[&1];
        assert_eq!(v.record.tags, r#"{"team":"risk"}"#);
        assert_eq!(v.record.description.as_deref(), Some("version about"));
        assert_eq!(m.tags["domain"], "churn");
        assert_eq!(m.description.as_deref(), Some("model about"));
        assert_eq!(m.owner.as_deref(), Some("ana"));
        assert_eq!(m.require_approval, BTreeSet::from([Stage::Production]));
    }

    #[test]
    fn stage_lists_parse_case_insensitively() {
        assert_eq!(
            parse_stage_list("production, staging").unwrap(),
            BTreeSet::from([Stage::Production, Stage::Staging])
        );
        assert!(parse_stage_list("none").unwrap().is_empty());
        assert!(parse_stage_list("").unwrap().is_empty());
        assert!(parse_stage_list("prod").is_err());
    }
}
