//! The server's error: what went wrong, in the words a caller can act on.
//! Stores, rules at the edge and handlers return it; `http::problem` maps
//! each kind to one HTTP status and an RFC 9457 problem body, and
//! background jobs wrap it in their own `platform::jobs::JobError`. It
//! knows nothing of HTTP itself.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The named object does not exist (or is not the caller's to see).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed: syntax, types, missing fields.
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but a value is not acceptable.
    #[error("{0}")]
    Validation(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// What the request is about is over and takes nothing more (a DDI
    /// action that ended).
    #[error("{0}")]
    Gone(String),
    /// The body is not in a media type or character set this endpoint reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request body is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// The caller is sending faster than its rate; try again after a while.
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u32,
    },
    /// The server cannot take this now; try again later.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u32,
    },
    /// Anything else. The cause is logged; callers see a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A result whose error is the server's [`Error`] unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Stored data that does not read back as written: a bug or a
    /// hand-edited database, never the caller's fault.
    pub fn corrupt(what: &str, e: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("stored {what}: {e}"))
    }

    /// `NotFound` as `Validation`: an object named in a request body or
    /// query is a bad value (422), not a missing resource (404).
    pub fn named_in(self, field: &str) -> Self {
        match self {
            Self::NotFound(m) => Self::Validation(format!("{field}: {m}")),
            other => other,
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        // A unique index refusing a write is a conflict with existing state
        // (e.g. two requests creating the same name at once), not a failure.
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) = e.sql_err() {
            return Self::Conflict("an object with the same unique name already exists".into());
        }
        Self::Internal(anyhow::Error::new(e).context("database error"))
    }
}

impl From<wavecast_protocol::TrustError> for Error {
    fn from(e: wavecast_protocol::TrustError) -> Self {
        Self::Validation(format!("bundle refused: {e}"))
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(e: sea_orm::TransactionError<Error>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner,
        }
    }
}
