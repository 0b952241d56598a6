//! Metadata changes (tags, descriptions, owner, settings, comments): one event each.

use lakescore_core::registry::EventKind;
use lakescore_core::registry::events::{
    SETTING_ALLOW_SELF_APPROVAL, SETTING_APPROVERS_PREFIX, SETTING_REQUIRE_APPROVAL,
};
use lakescore_core::uri::Stage;

use super::{Registry, RegistryError, Result, model_in, new_event, version_in};

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
    /// Who may decide requests into a stage (system identities; empty: anyone).
    Approvers(Stage, Vec<String>),
    /// Whether a requester may approve their own request.
    AllowSelfApproval(bool),
    Comment(String),
}

impl Registry {
    /// Record a metadata change on the model (`version` None) or a version.
    pub async fn annotate(
        &self,
        name: &str,
        version: Option<i64>,
        change: Annotation,
        actor: &str,
    ) -> Result<()> {
        self.annotate_all(name, version, &[change], actor).await
    }

    /// Record several metadata changes in one commit (all or none).
    pub async fn annotate_all(
        &self,
        name: &str,
        version: Option<i64>,
        changes: &[Annotation],
        actor: &str,
    ) -> Result<()> {
        for change in changes {
            if let Annotation::SetTag { key, .. } | Annotation::DeleteTag { key } = change {
                check_tag_key(key)?;
            }
        }
        self.append_events(name, |state| {
            let model = model_in(state, name)?;
            let on = match version {
                Some(v) => format!(" version {}", version_in(model, name, v)?.record.version),
                None => String::new(),
            };
            changes
                .iter()
                .map(|change| event_for(model, name, version, &on, change, actor))
                .collect()
        })
        .await?;
        Ok(())
    }
}

/// The event recording one change.
fn event_for(
    model: &lakescore_core::registry::state::ModelState,
    name: &str,
    version: Option<i64>,
    on: &str,
    change: &Annotation,
    actor: &str,
) -> Result<lakescore_core::registry::ModelEventRow> {
    let on = on.to_string();
    let model_setting = || {
        if version.is_some() {
            Err(RegistryError::Invalid {
                what: "setting".into(),
                message: "approval settings belong to the model, not to a version".into(),
            })
        } else {
            Ok(())
        }
    };
    let mut ev = new_event(name, version, EventKind::Comment, actor, None);
    match change {
        Annotation::SetTag { key, value } => {
            ev.event_type = EventKind::TagSet;
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
            ev.event_type = EventKind::TagDeleted;
            ev.key = Some(key.clone());
        }
        Annotation::Description(text) => {
            ev.event_type = EventKind::DescriptionSet;
            ev.value = Some(text.clone());
        }
        Annotation::Owner(owner) => {
            if version.is_some() {
                return Err(RegistryError::Invalid {
                    what: "owner".into(),
                    message: "an owner belongs to the model, not to a version".into(),
                });
            }
            ev.event_type = EventKind::OwnerSet;
            ev.value = Some(owner.clone());
        }
        Annotation::RequireApproval(stages) => {
            model_setting()?;
            ev.event_type = EventKind::SettingSet;
            ev.key = Some(SETTING_REQUIRE_APPROVAL.into());
            let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
            ev.value = Some(names.join(","));
        }
        Annotation::Approvers(stage, names) => {
            model_setting()?;
            if let Some(bad) = names
                .iter()
                .find(|n| n.contains(',') || n.trim().is_empty())
            {
                return Err(RegistryError::Invalid {
                    what: "approver".into(),
                    message: format!("{bad:?} is not an identity"),
                });
            }
            ev.event_type = EventKind::SettingSet;
            ev.key = Some(format!(
                "{SETTING_APPROVERS_PREFIX}{}",
                stage.as_str().to_ascii_lowercase()
            ));
            ev.value = Some(names.join(","));
        }
        Annotation::AllowSelfApproval(allow) => {
            model_setting()?;
            ev.event_type = EventKind::SettingSet;
            ev.key = Some(SETTING_ALLOW_SELF_APPROVAL.into());
            ev.value = Some(allow.to_string());
        }
        Annotation::Comment(text) => ev.comment = Some(text.clone()),
    }
    Ok(ev)
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
