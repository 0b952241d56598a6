//! The one classification every lakescore error answers.
//!
//! Both the exit code (2 for bad input, 1 otherwise; mapped by the binary) and the scheduler's retry
//! decision (retry transient errors only) come from [`Classify::class`], so the
//! two can never disagree. Each error enum in each crate implements it, usually
//! by delegating to its source; there is no catch-all.

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The spec, the command line, a model, an input or a table is unusable as
    /// given. Nothing was written; retrying cannot help (exit code 2).
    BadInput,
    /// Storage or commit trouble that may pass: worth a retry (exit code 1).
    Transient,
    /// Anything else at run time: deterministic, not worth a retry (exit code 1).
    Failure,
}

impl ErrorClass {
    /// Whether a scheduler should try again.
    pub fn is_transient(self) -> bool {
        self == ErrorClass::Transient
    }
}

/// An error that knows its [`ErrorClass`].
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

impl<T: Classify + ?Sized> Classify for Box<T> {
    fn class(&self) -> ErrorClass {
        (**self).class()
    }
}
