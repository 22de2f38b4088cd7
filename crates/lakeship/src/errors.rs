//! The error names Step Functions sees (`Diagnostic.error_type`), chosen
//! here rather than left to Rust type names, which are not stable.
//!
//! The state machine's `Retry`/`Catch` match these names; a test keeps the
//! names the handlers emit and the names in the definition the same set.
//! Each module's error enum says its own name next to its variants, under
//! one method name, `name()` (`ObjectError`, `ReadError`, `DeliveryError`),
//! and converts into a [`NamedError`] with it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A named failure class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ErrorName {
    /// May succeed when tried again: network errors, 5xx answers, a retry
    /// budget spent on them. Retried by the state machine.
    #[serde(rename = "Lakeship.Transient")]
    Transient,
    /// OpenSearch or S3 kept throttling (429/SlowDown) until the retry budget
    /// ran out. Retried by the state machine with a longer backoff.
    #[serde(rename = "Lakeship.Throttled")]
    Throttled,
    /// The worker stopped before its invocation deadline; what it finished is
    /// kept and the retry resumes from there. Retried by the state machine.
    #[serde(rename = "Lakeship.OutOfTime")]
    OutOfTime,
    /// `MaxConcurrentRuns` older runs are still open: the Dispatch state waits
    /// and asks again (retried for up to the run's 24 hours).
    #[serde(rename = "Lakeship.AtCapacity")]
    AtCapacity,
    /// The handler's input is not what it expects (not retried).
    #[serde(rename = "Lakeship.InvalidInput")]
    InvalidInput,
    /// Configuration or permissions are wrong (missing setting, 401/403).
    /// Not retried: fix the deployment, then redrive.
    #[serde(rename = "Lakeship.Configuration")]
    Configuration,
    /// The finalizer found objects whose counts do not reconcile.
    #[serde(rename = "Lakeship.ObjectsIncomplete")]
    ObjectsIncomplete,
    /// A Parquet object is corrupt, truncated, or not Parquet (per object;
    /// recorded in results and the ledger, never raised).
    #[serde(rename = "Lakeship.InvalidObject")]
    InvalidObject,
    /// An object does not exist (per object; recorded, never raised).
    #[serde(rename = "Lakeship.ObjectNotFound")]
    ObjectNotFound,
    /// An object changed after it was planned (per object; recorded).
    #[serde(rename = "Lakeship.ObjectChanged")]
    ObjectChanged,
    /// A queue message of an unknown shape (per message; recorded).
    #[serde(rename = "Lakeship.BadMessage")]
    BadMessage,
    /// The run's batch held messages that could not be read. Raised by the
    /// finalizer after every readable object is done, so the run shows red;
    /// the messages are kept in the dead-letter store (deployed) or on the
    /// queue (local). Not retried: replay them once understood.
    #[serde(rename = "Lakeship.UnreadableMessages")]
    UnreadableMessages,
}

impl ErrorName {
    /// The names a handler may fail with (the others, [`RECORDED`](Self::RECORDED),
    /// never end an invocation).
    pub const RAISED: [ErrorName; 8] = [
        ErrorName::Transient,
        ErrorName::Throttled,
        ErrorName::OutOfTime,
        ErrorName::AtCapacity,
        ErrorName::InvalidInput,
        ErrorName::Configuration,
        ErrorName::ObjectsIncomplete,
        ErrorName::UnreadableMessages,
    ];

    /// The names recorded per object or per message (in results, the ledger
    /// and run reports), never raised.
    pub const RECORDED: [ErrorName; 4] =
        [ErrorName::InvalidObject, ErrorName::ObjectNotFound, ErrorName::ObjectChanged, ErrorName::BadMessage];

    /// The name as Step Functions sees it, e.g. `Lakeship.Transient`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorName::Transient => "Lakeship.Transient",
            ErrorName::Throttled => "Lakeship.Throttled",
            ErrorName::OutOfTime => "Lakeship.OutOfTime",
            ErrorName::AtCapacity => "Lakeship.AtCapacity",
            ErrorName::InvalidInput => "Lakeship.InvalidInput",
            ErrorName::Configuration => "Lakeship.Configuration",
            ErrorName::ObjectsIncomplete => "Lakeship.ObjectsIncomplete",
            ErrorName::InvalidObject => "Lakeship.InvalidObject",
            ErrorName::ObjectNotFound => "Lakeship.ObjectNotFound",
            ErrorName::ObjectChanged => "Lakeship.ObjectChanged",
            ErrorName::BadMessage => "Lakeship.BadMessage",
            ErrorName::UnreadableMessages => "Lakeship.UnreadableMessages",
        }
    }

    /// True for names that trying again may cure.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorName::Transient | ErrorName::Throttled | ErrorName::OutOfTime | ErrorName::AtCapacity)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with its name and a message that says what failed, on which
/// object, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{name}: {message}")]
pub struct NamedError {
    /// The failure class.
    pub name: ErrorName,
    /// What happened.
    pub message: String,
}

impl NamedError {
    /// A named error.
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        NamedError { name, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_serialize_as_step_functions_sees_them() {
        for name in ErrorName::RAISED.into_iter().chain(ErrorName::RECORDED) {
            assert_eq!(serde_json::to_value(name).unwrap(), name.as_str());
            assert_eq!(serde_json::from_value::<ErrorName>(name.as_str().into()).unwrap(), name);
        }
    }
}
