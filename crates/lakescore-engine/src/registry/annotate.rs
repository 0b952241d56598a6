//! Metadata changes (tags, descriptions, owner, settings, comments): one event each.

use lakescore_core::registry::EventKind;
use lakescore_core::registry::events::SETTING_REQUIRE_APPROVAL;
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
        if let Annotation::SetTag { key, .. } | Annotation::DeleteTag { key } = &change {
            check_tag_key(key)?;
        }
        self.append_events(name, |state| {
            let model = model_in(state, name)?;
            let on = match version {
                Some(v) => format!(" version {}", version_in(model, name, v)?.record.version),
                None => String::new(),
            };
            let mut ev = new_event(name, version, EventKind::Comment, actor, None);
            match &change {
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
                    if version.is_some() {
                        return Err(RegistryError::Invalid {
                            what: "setting".into(),
                            message: "approval settings belong to the model, not to a version"
                                .into(),
                        });
                    }
                    ev.event_type = EventKind::SettingSet;
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
