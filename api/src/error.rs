//! The one HTTP error shape: RFC 9457 `application/problem+json`, made only here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("this request needs a valid token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("this token has expired: an admin gives you a new one with `haven users rotate`")]
    TokenExpired,
    #[error("too many requests from this client: slow down")]
    TooManyRequests,
    /// Busy for now; try again shortly.
    #[error("{0}")]
    Unavailable(String),
    /// A request body past the server's limit.
    #[error("{0}")]
    TooLarge(String),
    /// A release the disclosure step refused or held back.
    #[error("{0}")]
    Refused(String),
    /// Anything unexpected: logged with its cause, answered without internals.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The message with an internal error's cause, for logs and the command line (responses
    /// carry `Display`, which keeps internals out).
    pub fn detail(&self) -> String {
        match self {
            ApiError::Internal(cause) => cause.clone(),
            other => other.to_string(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::TokenExpired => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Refused(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A request whose body, query or path cannot be read: 400 with axum's reason (the one error
/// shape, so a handler writes `body?`).
macro_rules! rejections_are_bad_requests {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for ApiError {
            fn from(e: $rejection) -> ApiError {
                ApiError::BadRequest(e.body_text())
            }
        }
    )*};
}

rejections_are_bad_requests!(
    axum::extract::rejection::JsonRejection,
    axum::extract::rejection::QueryRejection,
    axum::extract::rejection::PathRejection
);

impl From<ingest::Error> for ApiError {
    fn from(e: ingest::Error) -> Self {
        haven_core::Error::from(e).into()
    }
}

impl From<duckdb::Error> for ApiError {
    fn from(e: duckdb::Error) -> Self {
        haven_core::Error::from(e).into()
    }
}

impl From<haven_core::Error> for ApiError {
    fn from(e: haven_core::Error) -> Self {
        use haven_core::Error as E;
        match e {
            E::Invalid(m) => ApiError::BadRequest(m),
            E::NotFound(m) => ApiError::NotFound(m),
            E::Forbidden(m) => ApiError::Forbidden(m),
            E::TooLarge(m) => ApiError::TooLarge(m),
            E::Refused(m) => ApiError::Refused(m),
            E::Settings(m) | E::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<analytics::Error> for ApiError {
    fn from(e: analytics::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<disclosure::release::Error> for ApiError {
    fn from(e: disclosure::release::Error) -> Self {
        haven_core::Error::from(e).into()
    }
}

impl From<jobs::Error> for ApiError {
    fn from(e: jobs::Error) -> Self {
        match e {
            jobs::Error::Config { .. } | jobs::Error::Invalid(_) => {
                ApiError::BadRequest(e.to_string())
            }
            jobs::Error::Schedule(_) | jobs::Error::Run(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("background task: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.to_string(),
        });
        let mut res = (status, body.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}
