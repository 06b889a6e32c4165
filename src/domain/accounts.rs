//! Accounts: registration (open / approval / closed), login with bearer tokens, logout.

use crate::{
    config::RegistrationMode,
    domain::{name_taken, unique_or, validate},
    error::{AppError, AppResult},
    state::{AppState, new_keypair},
    store::{
        self,
        accounts::DbAccount,
        people::{DbPerson, NewPerson},
    },
};
use anyhow::Context;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a person submits to register.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Why they want to join, for instances that approve registrations.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A local person with their account.
#[derive(Debug, Clone)]
pub struct LocalUser {
    pub person: DbPerson,
    pub account: DbAccount,
}

/// Registers through the public API, honouring `registration.mode`.
pub async fn register(state: &AppState, input: NewAccount) -> AppResult<LocalUser> {
    let approved = match state.config.registration.mode {
        RegistrationMode::Open => true,
        RegistrationMode::Approval => false,
        RegistrationMode::Closed => {
            return Err(AppError::forbidden(
                "registration_closed",
                "this instance does not accept new registrations",
            ));
        }
    };
    if state.config.registration.require_email && input.email.is_none() {
        return Err(AppError::invalid(
            "missing_field",
            "email is required on this instance",
        ));
    }
    if !approved && input.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(AppError::invalid(
            "missing_field",
            "reason is required: registrations on this instance are approved by an admin",
        ));
    }
    create(state, input, false, approved).await
}

/// Creates a local person and account (any registration mode). Used by `register` and by
/// `guildhall admin create-user`.
pub async fn create(
    state: &AppState,
    input: NewAccount,
    is_admin: bool,
    approved: bool,
) -> AppResult<LocalUser> {
    validate::name("username", &input.username)?;
    validate::password(&input.password)?;
    let email = input.email.as_deref().map(validate::email).transpose()?;
    if let Some(d) = &input.display_name {
        validate::text("display_name", d, validate::DISPLAY_NAME_MAX, false)?;
    }
    if let Some(r) = &input.reason {
        validate::text("reason", r, validate::REASON_MAX, false)?;
    }
    let mut conn = state.db.pool.acquire().await?;
    if store::local_name_taken(&mut conn, &input.username).await? {
        return Err(name_taken(&input.username));
    }
    if let Some(e) = &email
        && store::accounts::email_taken(&mut conn, e).await?
    {
        return Err(AppError::conflict("email_taken", "email is already in use"));
    }
    drop(conn);

    let password_hash = hash_password(input.password.clone()).await?;
    let keys = new_keypair().await?;
    let ap_id = state.person_url(&input.username);
    let inbox = state.url(&format!("/u/{}/inbox", input.username));
    let shared_inbox = state.url("/inbox");
    let display_name = input
        .display_name
        .as_deref()
        .filter(|d| !d.trim().is_empty());

    let mut tx = state.db.begin().await?;
    store::claim_local_name(&mut tx, &input.username, "person")
        .await
        .map_err(|e| unique_or(e, || name_taken(&input.username)))?;
    let person = store::people::upsert(
        &mut tx,
        &NewPerson {
            ap_id: ap_id.as_str(),
            name: &input.username,
            display_name,
            bio_html: None,
            bio_source: None,
            local: true,
            inbox: inbox.as_str(),
            shared_inbox: Some(shared_inbox.as_str()),
            public_key: &keys.public_key,
            private_key: Some(&keys.private_key),
            published: store::now_ms(),
            updated: None,
            actor_type: "Person",
        },
    )
    .await?;
    store::accounts::insert(
        &mut tx,
        person.id,
        &password_hash,
        email.as_deref(),
        is_admin,
        approved,
        input.reason.as_deref(),
    )
    .await
    .map_err(|e| {
        unique_or(e, || {
            AppError::conflict("email_taken", "email is already in use")
        })
    })?;
    tx.commit().await?;

    let mut conn = state.db.pool.acquire().await?;
    let account = store::accounts::find(&mut conn, person.id)
        .await?
        .context("account just inserted")?;
    tracing::info!(user = %person.name, is_admin, approved, "account created");
    Ok(LocalUser { person, account })
}

/// Approves a pending account (`guildhall admin approve-user`).
pub async fn approve(state: &AppState, username: &str) -> AppResult<()> {
    let mut conn = state.db.write_conn().await?;
    let person = store::people::find_local_by_name(&mut conn, username)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if !store::accounts::approve(&mut conn, person.id).await? {
        return Err(AppError::NotFound("account"));
    }
    Ok(())
}

/// Checks a password and opens a session; returns the bearer token (shown once).
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
) -> AppResult<(String, LocalUser)> {
    let bad = || AppError::Unauthorized("wrong username or password".into());
    let mut conn = state.db.pool.acquire().await?;
    let person = store::people::find_local_by_name(&mut conn, username).await?;
    let account = match &person {
        Some(p) => store::accounts::find(&mut conn, p.id).await?,
        None => None,
    };
    drop(conn);
    let (Some(person), Some(account)) = (person, account) else {
        // Same work as a real check, so that timing does not reveal which names exist.
        let _ = verify_password(DUMMY_HASH.to_string(), password.to_string()).await;
        return Err(bad());
    };
    if !verify_password(account.password_hash.clone(), password.to_string()).await? {
        return Err(bad());
    }
    if !account.approved {
        return Err(AppError::forbidden(
            "pending_approval",
            "this account is waiting for an admin's approval",
        ));
    }
    let token = new_token();
    let mut conn = state.db.write_conn().await?;
    store::accounts::create_session(&mut conn, &token_hash(&token), person.id).await?;
    Ok((token, LocalUser { person, account }))
}

/// Ends the session of `token`.
pub async fn logout(state: &AppState, token: &str) -> AppResult<()> {
    let mut conn = state.db.write_conn().await?;
    if !store::accounts::delete_session(&mut conn, &token_hash(token)).await? {
        return Err(AppError::Unauthorized("unknown or expired token".into()));
    }
    Ok(())
}

/// The user a bearer token belongs to.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<LocalUser> {
    let unauthorized = || AppError::Unauthorized("unknown or expired token".into());
    let mut conn = state.db.pool.acquire().await?;
    let person_id = store::accounts::session_person(&mut conn, &token_hash(token))
        .await?
        .ok_or_else(unauthorized)?;
    let person = store::people::find_by_id(&mut conn, person_id).await?;
    let account = store::accounts::find(&mut conn, person_id)
        .await?
        .ok_or_else(unauthorized)?;
    if !account.approved {
        return Err(unauthorized());
    }
    Ok(LocalUser { person, account })
}

/// A 256-bit random token, URL-safe.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
    2Xf6cMoyIFTNA2t1PWPgB0G4mnBGh1DzOt+bXBRymt0";

async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .context("hashing task")?
    .map_err(AppError::Internal)
}

async fn verify_password(hash: String, password: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("hashing task")?
    .map_err(AppError::Internal)
}
