//! One error type for the whole server. Each variant has an explicit HTTP status and a
//! public message; the underlying cause of an internal error is logged, never shown.

use axum::{
    Json,
    extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// An error with its HTTP status and a message that is safe to show to the client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed or invalid input (400). `code` is a stable machine-readable string.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// Input that is well-formed but breaks a rule (422).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Missing or bad credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (403).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Nothing at this address (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The address exists but not with this HTTP method (405; the router adds `Allow`).
    #[error("this address does not take that method")]
    MethodNotAllowed,
    /// The request body is over the configured limit (413).
    #[error("request body is too large")]
    TooLarge,
    /// The name or address is already taken (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The store is overloaded for a moment (503; retry).
    #[error("busy; try again shortly")]
    Busy,
    /// Too many requests from this client (429; the response says when to retry).
    #[error("too many requests; slow down")]
    RateLimited,
    /// A remote server could not be reached or sent something unusable (502).
    #[error("remote server: {0}")]
    Remote(String),
    /// Something went wrong on our side (500). The cause is logged, not shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// Result alias used across the crate.
pub type AppResult<T> = Result<T, AppError>;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Remote(_) => StatusCode::BAD_GATEWAY,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable error code sent as `error` in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. }
            | AppError::Invalid { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. } => code,
            AppError::Unauthorized(_) => "unauthorized",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::TooLarge => "too_large",
            AppError::Remote(_) => "remote_error",
            AppError::RateLimited => "rate_limited",
            AppError::Busy => "busy",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        // A unique-constraint violation is the client's conflict, never a 500.
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return AppError::conflict("conflict", "this already exists");
        }
        // PostgreSQL refuses a NUL character in text (22021), which SQLite stores: text from
        // a client (a query's `after`, a path's name, a JSON string) is the client's error.
        if let sqlx::Error::Database(db) = &e
            && db.code().as_deref() == Some("22021")
        {
            return AppError::bad_request("invalid_text", "text must not contain NUL characters");
        }
        // Contention (SQLite's lock, an exhausted pool) is temporary: 503, not 500.
        let busy = match &e {
            sqlx::Error::PoolTimedOut => true,
            sqlx::Error::Database(db) => db.message().contains("database is locked"),
            _ => false,
        };
        if busy {
            tracing::warn!(error = %e, "database busy");
            return AppError::Busy;
        }
        AppError::Internal(anyhow::Error::new(e).context("database"))
    }
}

/// What an axum extractor refused, in our shape: a 4xx is the client's (`code`, with the
/// extractor's own explanation), a 5xx is ours (a route declared wrongly), a 413 stays one.
fn rejected(status: StatusCode, text: String, code: &'static str) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else if status.is_server_error() {
        AppError::Internal(anyhow::anyhow!("extractor: {text}"))
    } else {
        AppError::bad_request(code, text)
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        rejected(r.status(), r.body_text(), "invalid_json")
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        rejected(r.status(), r.body_text(), "invalid_query")
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        rejected(r.status(), r.body_text(), "invalid_path")
    }
}

impl From<FormRejection> for AppError {
    fn from(r: FormRejection) -> Self {
        rejected(r.status(), r.body_text(), "invalid_form")
    }
}

/// A NUL (`%00`) is in no name, handle or cursor; PostgreSQL would refuse it as text while
/// SQLite stores it, so it is refused here, the same on both stores.
pub fn refuse_nul(raw: &str, code: &'static str) -> Result<(), AppError> {
    if raw
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"%00"))
    {
        return Err(AppError::bad_request(
            code,
            "the address must not contain NUL (%00)",
        ));
    }
    Ok(())
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<activitypub_federation::error::Error> for AppError {
    fn from(e: activitypub_federation::error::Error) -> Self {
        use activitypub_federation::error::Error as F;
        match e {
            F::NotFound | F::ObjectDeleted(_) => AppError::NotFound("remote object"),
            F::RequestLimit => {
                AppError::bad_request("fetch_budget", "too many fetches for one request")
            }
            F::UrlVerificationError(m) => AppError::bad_request("bad_url", m),
            F::DomainResolveError(_) | F::ResolveInternalIpError(..) => AppError::forbidden(
                "private_address",
                "refusing to fetch from a private address",
            ),
            F::ParseFetchedObject(err, url, _) => {
                AppError::Remote(format!("unusable object at {url}: {err}"))
            }
            F::FetchInvalidContentType(url) => {
                AppError::Remote(format!("{url} is not served as ActivityPub"))
            }
            F::FetchWrongId(url) => {
                AppError::Remote(format!("{url} has another id than its address"))
            }
            F::WebfingerResolveFailed(e) => AppError::Remote(format!("WebFinger: {e}")),
            F::Reqwest(e) => AppError::Remote(e.without_url().to_string()),
            F::ReqwestMiddleware(e) => AppError::Remote(e.to_string()),
            F::ResponseBodyLimit => AppError::Remote("response too large".into()),
            other => AppError::Internal(anyhow::Error::new(other).context("federation")),
        }
    }
}
