//! MLflow-compatible model references: `models:/NAME/VERSION`, `models:/NAME/STAGE`,
//! `models:/NAME@ALIAS`, `models:/NAME/latest`. Pure parsing, no IO.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A registry stage, as in MLflow (names are case-insensitive on input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Stage {
    None,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown stage {s:?} (expected None, Staging, Production or Archived)")
            })
    }
}

#[cfg(feature = "clap")]
impl clap::ValueEnum for Stage {
    fn value_variants<'a>() -> &'a [Self] {
        &Stage::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let name = match self {
            Stage::None => "none",
            Stage::Staging => "staging",
            Stage::Production => "production",
            Stage::Archived => "archived",
        };
        Some(clap::builder::PossibleValue::new(name))
    }
    fn from_str(input: &str, _ignore_case: bool) -> Result<Self, String> {
        input.parse()
    }
}

/// What a model URI points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSelector {
    Version(i64),
    Stage(Stage),
    Alias(String),
    Latest,
}

/// A parsed model reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub name: String,
    pub selector: ModelSelector,
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            ModelSelector::Version(v) => write!(f, "models:/{}/{v}", self.name),
            ModelSelector::Stage(s) => write!(f, "models:/{}/{s}", self.name),
            ModelSelector::Alias(a) => write!(f, "models:/{}@{a}", self.name),
            ModelSelector::Latest => write!(f, "models:/{}/latest", self.name),
        }
    }
}

/// Check a registered model name: non-empty, no `/`, `@`, `:` or control characters.
pub fn check_model_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("model name is empty".into());
    }
    if name.len() > 256 {
        return Err("model name is longer than 256 characters".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | '@' | ':' | '\\') || c.is_control())
    {
        return Err(format!("model name {name:?} contains {c:?}"));
    }
    Ok(())
}

/// Check an alias against MLflow's rules: letters, digits, `_` and `-`; not
/// `latest` (reserved) and not `v<digits>` (reads as a version).
pub fn check_alias(alias: &str) -> Result<(), String> {
    if alias.is_empty() || alias.len() > 255 {
        return Err(format!("alias {alias:?} must be 1 to 255 characters"));
    }
    if !alias
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "alias {alias:?} may contain only letters, digits, '_' and '-'"
        ));
    }
    if alias.eq_ignore_ascii_case("latest") {
        return Err("alias \"latest\" is reserved".into());
    }
    let lower = alias.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix('v')
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "alias {alias:?} is reserved (v<digits> names a version)"
        ));
    }
    Ok(())
}

/// Parse a point in time for `--as-of`: RFC 3339 (`2024-03-03T12:00:00+01:00`),
/// `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]` in UTC, or a bare date,
/// which means the end of that day in UTC (the registry as it stood when the
/// day was over).
pub fn parse_as_of(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(end_of_day(d));
    }
    Err(format!(
        "{text:?} is not a time: use RFC 3339 (2024-03-03T12:00:00Z), \
         \"2024-03-03 12:00:00\" (UTC) or a date (its end, UTC)"
    ))
}

/// The last microsecond of `day`, UTC.
pub fn end_of_day(day: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let t = day
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .expect("valid time");
    chrono::Utc.from_utc_datetime(&t)
}

impl FromStr for ModelRef {
    type Err = String;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        let rest = uri.strip_prefix("models:/").ok_or_else(|| {
            format!("model URI {uri:?} must start with \"models:/\" (e.g. models:/churn/3, models:/churn@champion)")
        })?;
        if let Some((name, alias)) = rest.split_once('@') {
            check_model_name(name).map_err(|e| format!("model URI {uri:?}: {e}"))?;
            if alias.is_empty() {
                return Err(format!("model URI {uri:?}: empty alias after '@'"));
            }
            return Ok(ModelRef {
                name: name.to_string(),
                selector: ModelSelector::Alias(alias.to_string()),
            });
        }
        let (name, sel) = rest.split_once('/').ok_or_else(|| {
            format!("model URI {uri:?} must be models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME@ALIAS or models:/NAME/latest")
        })?;
        check_model_name(name).map_err(|e| format!("model URI {uri:?}: {e}"))?;
        let selector = if sel.eq_ignore_ascii_case("latest") {
            ModelSelector::Latest
        } else if let Ok(v) = sel.parse::<i64>() {
            if v < 1 {
                return Err(format!("model URI {uri:?}: versions start at 1"));
            }
            ModelSelector::Version(v)
        } else if let Ok(stage) = sel.parse::<Stage>() {
            ModelSelector::Stage(stage)
        } else {
            return Err(format!(
                "model URI {uri:?}: {sel:?} is not a version number, a stage (None, Staging, Production, Archived) or \"latest\"{}",
                crate::suggest::hint(sel, Stage::ALL.iter().map(|s| s.as_str()).chain(["latest"]))
            ));
        };
        Ok(ModelRef {
            name: name.to_string(),
            selector,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ModelRef, String> {
        s.parse()
    }

    #[test]
    fn parses_every_mlflow_form() {
        assert_eq!(
            parse("models:/churn/3").unwrap().selector,
            ModelSelector::Version(3)
        );
        assert_eq!(
            parse("models:/churn/production").unwrap().selector,
            ModelSelector::Stage(Stage::Production)
        );
        assert_eq!(
            parse("models:/churn/Staging").unwrap().selector,
            ModelSelector::Stage(Stage::Staging)
        );
        assert_eq!(
            parse("models:/churn/LATEST").unwrap().selector,
            ModelSelector::Latest
        );
        let a = parse("models:/churn@champion").unwrap();
        assert_eq!(a.name, "churn");
        assert_eq!(a.selector, ModelSelector::Alias("champion".into()));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "models:/m/3",
            "models:/m/Production",
            "models:/m@champ",
            "models:/m/latest",
        ] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_malformed_uris() {
        for bad in [
            "churn/3",
            "models:/",
            "models:/churn",
            "models:/churn/0",
            "models:/churn/prod",
            "models:/churn@",
            "models:/@x",
            "runs:/abc/model",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn aliases_follow_mlflow_rules() {
        assert!(check_alias("champion").is_ok());
        assert!(check_alias("blue-green_2").is_ok());
        assert!(check_alias("latest").is_err());
        assert!(check_alias("v3").is_err());
        assert!(check_alias("V12").is_err());
        assert!(check_alias("v").is_ok());
        assert!(check_alias("has space").is_err());
    }

    #[test]
    fn as_of_accepts_rfc3339_utc_times_and_dates() {
        let t = parse_as_of("2024-03-03T12:00:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-03T11:00:00+00:00");
        let t = parse_as_of("2024-03-03 12:30").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-03T12:30:00+00:00");
        let t = parse_as_of("2024-03-03").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-03T23:59:59.999999+00:00");
        let e = parse_as_of("March 3rd").unwrap_err();
        assert!(e.contains("RFC 3339"), "{e}");
    }
}
