//! The one place that turns errors into exit codes, from the classification
//! every lakescore error answers ([`lakescore_core::Classify`]).
//!
//! 0 success; 1 failure at run time (storage, IO, a bug); 2 bad usage, spec or
//! input (nothing written); 3 the run succeeded but drift crossed an alert threshold.

use lakescore_core::drift::DriftError;
use lakescore_core::spec::SpecError;
use lakescore_core::{Classify, ErrorClass};
use lakescore_engine::bridge::BridgeError;
use lakescore_engine::registry::RegistryError;
use lakescore_engine::report::ReportError;
use lakescore_engine::runner::RunError;
use lakescore_engine::runner::reference::ReferenceError;
use lakescore_engine::runner::rerun::RerunError;
use lakescore_engine::score::ScoreError;
use lakescore_engine::sql::SqlError;
use lakescore_lake::LakeError;
use lakescore_model::ModelError;
use lakescore_serve::ServeError;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    Success = 0,
    Failure = 1,
    BadInput = 2,
    DriftAlert = 3,
}

impl ExitStatus {
    /// Success, or the drift exit code when any alert was raised.
    pub(crate) fn alerts(n: usize) -> Self {
        if n == 0 {
            ExitStatus::Success
        } else {
            ExitStatus::DriftAlert
        }
    }

    /// A backfill's: the first failed date's code, else 3 on any alert.
    pub(crate) fn of_backfill(report: &lakescore_core::backfill::BackfillReport) -> Self {
        report
            .dates
            .iter()
            .find(|d| d.action.is_failure())
            .and_then(|d| d.failure)
            .map_or_else(
                || ExitStatus::alerts(report.dates.iter().map(|d| d.drift_alerts).sum()),
                ExitStatus::from,
            )
    }

    pub(crate) fn code(self) -> i32 {
        self as i32
    }
}

impl From<ErrorClass> for ExitStatus {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::BadInput => ExitStatus::BadInput,
            ErrorClass::Transient | ErrorClass::Failure => ExitStatus::Failure,
        }
    }
}

/// Bad command-line usage detected after clap (e.g. an unparsable `--tag`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

impl Classify for UsageError {
    fn class(&self) -> ErrorClass {
        ErrorClass::BadInput
    }
}

/// The class of an error: the outermost lakescore error in its chain decides
/// (each delegates to its own source where that matters).
pub(crate) fn class(err: &anyhow::Error) -> ErrorClass {
    err.chain()
        .find_map(classify)
        .unwrap_or(ErrorClass::Failure)
}

/// The exit status of an error.
pub(crate) fn status(err: &anyhow::Error) -> ExitStatus {
    class(err).into()
}

fn classify(e: &(dyn std::error::Error + 'static)) -> Option<ErrorClass> {
    macro_rules! try_types {
        ($($t:ty),*) => {
            $(
                if let Some(x) = e.downcast_ref::<$t>() {
                    return Some(x.class());
                }
            )*
        };
    }
    try_types!(
        UsageError,
        SpecError,
        RunError,
        RerunError,
        RegistryError,
        ReferenceError,
        ScoreError,
        SqlError,
        ReportError,
        ServeError,
        LakeError,
        ModelError,
        DriftError,
        BridgeError
    );
    None
}

/// An error and its causes on one line, each cause once (as the `runs` table records it).
pub(crate) fn render(err: &anyhow::Error) -> String {
    lakescore_engine::runner::error_chain(err.as_ref())
}

/// Whether the error is stdout closing under us (`lakescore runs | head -1`).
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_chain() {
        let e: anyhow::Error = RunError::Score {
            job: "j".into(),
            source: ScoreError::NoInput {
                pattern: "x".into(),
            },
        }
        .into();
        assert_eq!(status(&e), ExitStatus::BadInput);
        let e: anyhow::Error = RegistryError::UnknownModel {
            name: "m".into(),
            hint: String::new(),
        }
        .into();
        assert_eq!(status(&e), ExitStatus::BadInput);
        let e: anyhow::Error = RunError::Registry {
            job: "j".into(),
            source: Box::new(RegistryError::UnknownModel {
                name: "m".into(),
                hint: String::new(),
            }),
        }
        .into();
        assert_eq!(status(&e), ExitStatus::BadInput);
        let e: anyhow::Error = RunError::Lake {
            job: "j".into(),
            source: LakeError::Conflict {
                table: "t".into(),
                message: "raced".into(),
            },
        }
        .into();
        assert_eq!(class(&e), ErrorClass::Transient);
        assert_eq!(status(&e), ExitStatus::Failure);
        assert_eq!(status(&anyhow::anyhow!("other")), ExitStatus::Failure);
    }

    #[test]
    fn deterministic_scoring_failures_are_not_retried() {
        // A model that records no category names, given names: bad input, never transient.
        let e: anyhow::Error = RunError::Score {
            job: "j".into(),
            source: ScoreError::NoCategoryNames {
                column: "region".into(),
            },
        }
        .into();
        assert_eq!(class(&e), ErrorClass::BadInput);
        // A conversion that fails midway: a failure, not worth a retry.
        let polars = polars::prelude::PolarsError::ComputeError("cast failed".into());
        let e: anyhow::Error = RunError::Score {
            job: "j".into(),
            source: ScoreError::Column {
                column: "x".into(),
                source: polars,
            },
        }
        .into();
        assert_eq!(class(&e), ErrorClass::Failure);
    }

    #[test]
    fn each_cause_is_printed_once() {
        let e: anyhow::Error = RunError::Registry {
            job: "churn_daily".into(),
            source: Box::new(RegistryError::UnknownModel {
                name: "churn".into(),
                hint: String::new(),
            }),
        }
        .into();
        let text = render(&e);
        assert_eq!(
            text,
            "job churn_daily: model \"churn\" is not registered (see `lakescore registry list`)"
        );
        assert_eq!(text.matches("churn_daily").count(), 1);
    }
}
