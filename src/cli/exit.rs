//! The one place that maps errors to exit codes.
//!
//! 0 success; 1 failure at run time (storage, IO, a bug); 2 bad usage, spec or
//! input (nothing written); 3 the run succeeded but drift crossed an alert threshold.

use crate::lake::LakeError;
use crate::registry::RegistryError;
use crate::runner::RunError;
use crate::runner::reference::ReferenceError;
use crate::score::ScoreError;
use crate::spec::SpecError;

pub const SUCCESS: i32 = 0;
pub const FAILURE: i32 = 1;
pub const BAD_INPUT: i32 = 2;
pub const DRIFT_ALERT: i32 = 3;

/// Bad command-line usage detected after clap (e.g. an unparsable `--tag`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error: the first cause in the chain that we classify decides.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    error_code(err.as_ref())
}

/// The exit code for any error: its first cause we classify decides.
pub fn error_code(err: &(dyn std::error::Error + 'static)) -> i32 {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(code) = classify(e) {
            return code;
        }
        cause = e.source();
    }
    FAILURE
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<i32> {
    if cause.is::<SpecError>() || cause.is::<UsageError>() {
        return Some(BAD_INPUT);
    }
    if let Some(e) = cause.downcast_ref::<RunError>() {
        return match e {
            RunError::Input { .. } => Some(BAD_INPUT),
            RunError::Aborted { .. } => Some(FAILURE),
            // Classified by their source, next in the chain.
            RunError::Registry { .. }
            | RunError::Score { .. }
            | RunError::Lake { .. }
            | RunError::Reference { .. } => None,
        };
    }
    let reference = cause
        .downcast_ref::<ReferenceError>()
        .or_else(|| cause.downcast_ref::<Box<ReferenceError>>().map(|b| &**b));
    if let Some(e) = reference {
        return match e {
            ReferenceError::Unsupported { .. } => Some(BAD_INPUT),
            ReferenceError::Score { .. } | ReferenceError::Lake { .. } => None,
        };
    }
    let registry = cause
        .downcast_ref::<RegistryError>()
        .or_else(|| cause.downcast_ref::<Box<RegistryError>>().map(|b| &**b));
    if let Some(e) = registry {
        return match e {
            RegistryError::Lake(_) => None,
            RegistryError::Contended { .. } => Some(FAILURE),
            _ => Some(BAD_INPUT),
        };
    }
    if let Some(e) = cause.downcast_ref::<ScoreError>() {
        return Some(match e {
            ScoreError::Output(_) => FAILURE,
            _ => BAD_INPUT,
        });
    }
    if let Some(e) = cause.downcast_ref::<LakeError>() {
        return Some(if e.is_bad_input() { BAD_INPUT } else { FAILURE });
    }
    None
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
        assert_eq!(exit_code(&e), BAD_INPUT);
        let e: anyhow::Error = RunError::Lake {
            job: "j".into(),
            source: LakeError::Bridge("boom".into()),
        }
        .into();
        assert_eq!(exit_code(&e), FAILURE);
        let e: anyhow::Error = RegistryError::UnknownModel { name: "m".into() }.into();
        assert_eq!(exit_code(&e), BAD_INPUT);
        let e: anyhow::Error = RunError::Registry {
            job: "j".into(),
            source: Box::new(RegistryError::UnknownModel { name: "m".into() }),
        }
        .into();
        assert_eq!(exit_code(&e), BAD_INPUT);
        assert_eq!(exit_code(&anyhow::anyhow!("other")), FAILURE);
    }
}
