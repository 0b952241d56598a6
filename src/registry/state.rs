//! Registry state as a fold over events: each version's stage, each alias's
//! version. Pure: the same fold over a Delta time-travel version of the events
//! table gives the registry as it stood then.

use std::collections::BTreeMap;

use serde::Serialize;

use super::records::{ModelEventRow, ModelVersionRow};
use super::uri::{ModelRef, ModelSelector, Stage};

pub const EV_REGISTERED: &str = "registered";
pub const EV_STAGE: &str = "stage_transition";
pub const EV_ALIAS_SET: &str = "alias_set";
pub const EV_ALIAS_REMOVED: &str = "alias_removed";
/// A stage (`to_stage`) or alias (`alias`) given back to `version`, the one that held it before.
pub const EV_ROLLBACK: &str = "rollback";

/// One version with its current stage and aliases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionState {
    #[serde(flatten)]
    pub record: ModelVersionRow,
    pub stage: Stage,
    pub aliases: Vec<String>,
}

/// One registered model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelState {
    pub versions: BTreeMap<i64, VersionState>,
    pub aliases: BTreeMap<String, i64>,
    /// Versions that entered each stage, oldest first; a rollback pops the last.
    #[serde(skip)]
    pub stage_holders: BTreeMap<Stage, Vec<i64>>,
    /// Versions each alias pointed at, oldest first; a rollback pops the last.
    #[serde(skip)]
    pub alias_holders: BTreeMap<String, Vec<i64>>,
}

impl ModelState {
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
                    },
                );
        }
        events.sort_by_key(|e| e.seq);
        for ev in &events {
            let Some(model) = models.get_mut(&ev.model_name) else {
                continue;
            };
            let rollback = ev.event_type == EV_ROLLBACK;
            match ev.event_type.as_str() {
                EV_STAGE | EV_ROLLBACK if ev.to_stage.is_some() => {
                    if let (Some(v), Some(stage)) = (ev.version, ev.to_stage.as_deref())
                        && let (Some(vs), Ok(stage)) =
                            (model.versions.get_mut(&v), stage.parse::<Stage>())
                    {
                        vs.stage = stage;
                        let stack = model.stage_holders.entry(stage).or_default();
                        if rollback {
                            stack.pop();
                        }
                        push_holder(stack, v);
                    }
                }
                EV_ALIAS_SET | EV_ROLLBACK => {
                    if let (Some(v), Some(alias)) = (ev.version, ev.alias.clone())
                        && model.versions.contains_key(&v)
                    {
                        let stack = model.alias_holders.entry(alias.clone()).or_default();
                        if rollback {
                            stack.pop();
                        }
                        push_holder(stack, v);
                        model.aliases.insert(alias, v);
                    }
                }
                EV_ALIAS_REMOVED => {
                    if let Some(alias) = &ev.alias {
                        model.aliases.remove(alias);
                    }
                }
                _ => {}
            }
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

    fn version(name: &str, v: i64) -> ModelVersionRow {
        ModelVersionRow {
            name: name.into(),
            version: v,
            flavor: "linear".into(),
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
            event_type: kind.into(),
            from_stage: None,
            to_stage: stage.map(Into::into),
            alias: alias.map(Into::into),
            actor: "t".into(),
            comment: None,
            created_at: seq,
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
}
