//! The core's one error type. It names what went wrong for the caller to act on (bad input,
//! a missing thing, a release held back) and carries the cause of anything unexpected; the
//! HTTP layer maps it to its problem shape, the command line prints it.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request or the input is wrong: the message says what to change.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The input is larger than the server takes.
    #[error("{0}")]
    TooLarge(String),
    /// The caller may not do this (a municipality's user acting for another).
    #[error("{0}")]
    Forbidden(String),
    /// The disclosure step refused the release or held it back (the policy at work).
    #[error("{0}")]
    Refused(String),
    /// The settings (haven.toml, the environment) are wrong: nothing was started.
    #[error("{0}")]
    Settings(String),
    /// Anything unexpected, with its cause.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<ingest::Error> for Error {
    fn from(e: ingest::Error) -> Self {
        match e {
            ingest::Error::UnknownDataset { .. }
            | ingest::Error::Invalid(_)
            | ingest::Error::Refused(_)
            | ingest::Error::Format(_) => Error::Invalid(e.to_string()),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl From<duckdb::Error> for Error {
    fn from(e: duckdb::Error) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

impl From<analytics::Error> for Error {
    fn from(e: analytics::Error) -> Self {
        Error::Internal(format!("analysis: {e}"))
    }
}

impl From<disclosure::release::Error> for Error {
    fn from(e: disclosure::release::Error) -> Self {
        use disclosure::release::Error as E;
        match e {
            E::HeldBack { .. } | E::Audit { .. } => Error::Refused(e.to_string()),
            E::NotAnalysed => Error::Invalid(e.to_string()),
            other => Error::Internal(other.to_string()),
        }
    }
}
