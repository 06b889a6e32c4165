//! Use-cases shared by the JSON API, the HTML pages, the CLI and (later) the inbox:
//! validate, then one transaction.

pub mod accounts;
pub mod admin;
pub mod communities;
pub mod federation_policy;
pub mod follows;
pub mod invitations;
pub mod leadership;
pub mod markdown;
pub mod membership;
pub mod moderation;
pub mod outgoing;
pub mod paging;
pub mod posts;
pub mod privacy;
pub mod proposals;
pub mod refused;
pub mod reports;
pub mod threads;
pub mod validate;

use crate::error::AppError;

/// `name` for local actors, `name@host` for remote ones.
pub fn handle_of(name: &str, ap_id: &url::Url, local: bool) -> String {
    if local {
        return name.to_string();
    }
    format!("{name}@{}", crate::store::instances::domain_of(ap_id))
}

/// The error for a local name already held by a person or a community.
pub(crate) fn name_taken(name: &str) -> AppError {
    AppError::conflict("name_taken", format!("the name `{name}` is already taken"))
}

/// Maps a unique-constraint violation to `conflict()`, anything else to its usual error.
/// Checks made before a transaction can race; the constraint is the real guard.
pub(crate) fn unique_or(e: sqlx::Error, conflict: impl FnOnce() -> AppError) -> AppError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => conflict(),
        _ => AppError::from(e),
    }
}
