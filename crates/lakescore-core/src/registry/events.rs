//! The kinds of registry events: what one row of `registry/model_events` records.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a registry event did. Stored as its snake_case name; a name this
/// release does not know (written by a newer one) reads as [`EventKind::Other`]
/// and is ignored by the fold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum EventKind {
    /// A new version (its row in `model_versions` holds the details).
    Registered,
    /// `version` moved from `from_stage` to `to_stage`.
    StageTransition,
    /// Alias `alias` now points at `version`.
    AliasSet,
    AliasRemoved,
    /// A stage (`to_stage`) or alias (`alias`) given back to `version`, the one that held it before.
    Rollback,
    /// A request to move `version` to `to_stage`; `request_id` is the event's own `seq`.
    TransitionRequested,
    /// `request_id` approved; the transition itself is a `stage_transition` in the same commit.
    TransitionApproved,
    TransitionRejected,
    /// Tag `key` = `value` on `version`, or on the model when `version` is null.
    TagSet,
    TagDeleted,
    /// Description `value` of `version`, or of the model.
    DescriptionSet,
    /// Owner `value` of the model.
    OwnerSet,
    /// Model setting `key` = `value`.
    SettingSet,
    /// A comment (in `comment`) on `version`, or on the model.
    Comment,
    /// A kind this release does not know.
    Other(String),
}

impl EventKind {
    /// Every known kind.
    pub const KNOWN: [EventKind; 14] = [
        EventKind::Registered,
        EventKind::StageTransition,
        EventKind::AliasSet,
        EventKind::AliasRemoved,
        EventKind::Rollback,
        EventKind::TransitionRequested,
        EventKind::TransitionApproved,
        EventKind::TransitionRejected,
        EventKind::TagSet,
        EventKind::TagDeleted,
        EventKind::DescriptionSet,
        EventKind::OwnerSet,
        EventKind::SettingSet,
        EventKind::Comment,
    ];

    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Registered => "registered",
            EventKind::StageTransition => "stage_transition",
            EventKind::AliasSet => "alias_set",
            EventKind::AliasRemoved => "alias_removed",
            EventKind::Rollback => "rollback",
            EventKind::TransitionRequested => "transition_requested",
            EventKind::TransitionApproved => "transition_approved",
            EventKind::TransitionRejected => "transition_rejected",
            EventKind::TagSet => "tag_set",
            EventKind::TagDeleted => "tag_deleted",
            EventKind::DescriptionSet => "description_set",
            EventKind::OwnerSet => "owner_set",
            EventKind::SettingSet => "setting_set",
            EventKind::Comment => "comment",
            EventKind::Other(name) => name,
        }
    }
}

impl From<String> for EventKind {
    fn from(name: String) -> Self {
        EventKind::KNOWN
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or(EventKind::Other(name))
    }
}

impl From<EventKind> for String {
    fn from(kind: EventKind) -> Self {
        kind.as_str().to_string()
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Setting: comma-separated stages whose transitions need an approved request.
pub const SETTING_REQUIRE_APPROVAL: &str = "require_approval";

/// Setting prefix: `approvers.<stage>` holds the comma-separated identities
/// that may decide requests into that stage (empty: anyone).
pub const SETTING_APPROVERS_PREFIX: &str = "approvers.";

/// Setting: `true` lets the requester approve their own request.
pub const SETTING_ALLOW_SELF_APPROVAL: &str = "allow_self_approval";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_kept() {
        for kind in EventKind::KNOWN {
            assert_eq!(EventKind::from(String::from(kind.clone())), kind);
        }
        let future = EventKind::from("model_deleted".to_string());
        assert_eq!(future, EventKind::Other("model_deleted".into()));
        assert_eq!(future.as_str(), "model_deleted");
    }
}
