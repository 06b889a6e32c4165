//! Typed settings: `config/default.toml` (compiled in, so it is both the documentation and
//! the defaults), then `--config FILE`, then `GUILDHALL_<SECTION>__<KEY>` environment
//! variables. Validated once at start; every problem is reported with the key it concerns.

use figment::{
    Figment,
    providers::{Env, Format, Toml},
    value::Value,
};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, net::SocketAddr, path::Path, path::PathBuf};
use url::Url;

/// The documented defaults, shipped inside the binary.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Every setting of a Guildhall instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub instance: InstanceConfig,
    pub registration: RegistrationConfig,
    pub log: LogConfig,
    pub federation: FederationSettings,
    pub limits: LimitsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub base_url: Url,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    pub page_cache_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    Open,
    Approval,
    Closed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    pub mode: RegistrationMode,
    pub require_email: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    pub authorized_fetch: bool,
    pub request_timeout_secs: u64,
    pub signature_max_age_secs: u64,
    pub signature_max_skew_secs: u64,
    pub retry_initial_secs: u64,
    pub dead_after_secs: u64,
    pub delivery_concurrency: usize,
    pub delivery_per_instance: usize,
    pub inbox_wait_ms: u64,
    pub inbox_lease_secs: u64,
    pub blocked_instances: Vec<String>,
    pub mode: String,
    pub allowed_instances: Vec<String>,
    pub private_community_software: Vec<String>,
    pub allow_private_addresses: bool,
    pub resolve: BTreeMap<String, std::net::IpAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub inbox_per_second: f64,
    pub inbox_burst: f64,
    pub inbox_refused_cost: f64,
    pub auth_per_minute: f64,
    pub trust_forwarded_for: bool,
}

/// All the problems found in a configuration, one line each, each naming its key.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

const SECTIONS: [&str; 7] = [
    "server",
    "database",
    "instance",
    "registration",
    "log",
    "federation",
    "limits",
];

impl Config {
    /// Loads defaults, then `file` (which must exist when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigErrors> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigErrors(vec![format!(
                    "config file {} does not exist or is not a file",
                    path.display()
                )]));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("GUILDHALL_").split("__"));
        Self::from_figment(&figment)
    }

    /// Loads from the defaults plus a TOML text (tests, tools).
    pub fn from_toml(text: &str) -> Result<Config, ConfigErrors> {
        let figment = Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(text));
        Self::from_figment(&figment)
    }

    fn from_figment(figment: &Figment) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        match figment.extract::<BTreeMap<String, Value>>() {
            Ok(top) => {
                for key in top.keys().filter(|k| !SECTIONS.contains(&k.as_str())) {
                    errors.push(format!(
                        "unknown key `{key}` (sections are: {})",
                        SECTIONS.join(", ")
                    ));
                }
            }
            Err(e) => errors.extend(e.into_iter().map(describe)),
        }
        // Extract each section on its own so that a mistake in one does not hide another.
        fn section<T: serde::de::DeserializeOwned>(
            f: &Figment,
            name: &str,
            errors: &mut Vec<String>,
        ) -> Option<T> {
            f.extract_inner::<T>(name)
                .map_err(|e| {
                    errors.extend(e.into_iter().map(|mut e| {
                        // figment appends the section after the key; name it first.
                        if e.path.last().map(String::as_str) == Some(name) {
                            e.path.pop();
                        }
                        e.path.insert(0, name.to_string());
                        describe(e)
                    }))
                })
                .ok()
        }
        let server = section::<ServerConfig>(figment, "server", &mut errors);
        let database = section::<DatabaseConfig>(figment, "database", &mut errors);
        let instance = section::<InstanceConfig>(figment, "instance", &mut errors);
        let registration = section::<RegistrationConfig>(figment, "registration", &mut errors);
        let log = section::<LogConfig>(figment, "log", &mut errors);
        let federation = section::<FederationSettings>(figment, "federation", &mut errors);
        let limits = section::<LimitsConfig>(figment, "limits", &mut errors);
        let (
            Some(server),
            Some(database),
            Some(instance),
            Some(registration),
            Some(log),
            Some(federation),
            Some(limits),
        ) = (
            server,
            database,
            instance,
            registration,
            log,
            federation,
            limits,
        )
        else {
            return Err(ConfigErrors(errors));
        };
        let config = Config {
            server,
            database,
            instance,
            registration,
            log,
            federation,
            limits,
        };
        errors.extend(config.validate());
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Checks that go beyond types; returns one message per bad key.
    fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let base = &self.server.base_url;
        if !matches!(base.scheme(), "http" | "https") {
            errors.push("server.base_url: scheme must be http or https".to_string());
        }
        if base.host_str().is_none() {
            errors.push("server.base_url: a host is required".to_string());
        }
        if base.path() != "/" || base.query().is_some() || base.fragment().is_some() {
            errors.push(
                "server.base_url: must be scheme://host[:port] with no path, query or fragment"
                    .to_string(),
            );
        }
        if !base.username().is_empty() || base.password().is_some() {
            errors.push("server.base_url: must not contain credentials".to_string());
        }
        if self.server.body_limit_bytes < 1024 {
            errors.push("server.body_limit_bytes: must be at least 1024".to_string());
        }
        if self.server.request_timeout_secs == 0 {
            errors.push("server.request_timeout_secs: must be at least 1".to_string());
        }
        let url = &self.database.url;
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            errors.push(
                "database.url: must be empty (SQLite in data_dir), sqlite://PATH or postgres://…"
                    .to_string(),
            );
        }
        if self.database.max_connections == 0 {
            errors.push("database.max_connections: must be at least 1".to_string());
        }
        if self.instance.name.trim().is_empty() {
            errors.push("instance.name: must not be empty".to_string());
        }
        if self.federation.request_timeout_secs == 0 {
            errors.push("federation.request_timeout_secs: must be at least 1".to_string());
        }
        if self.federation.delivery_concurrency == 0 {
            errors.push("federation.delivery_concurrency: must be at least 1".to_string());
        }
        if !matches!(self.federation.mode.as_str(), "open" | "allowlist") {
            errors.push("federation.mode: must be \"open\" or \"allowlist\"".to_string());
        }
        if self.federation.inbox_lease_secs == 0 {
            errors.push("federation.inbox_lease_secs: must be at least 1".to_string());
        }
        if self.federation.delivery_per_instance == 0 {
            errors.push("federation.delivery_per_instance: must be at least 1".to_string());
        }
        let l = &self.limits;
        if !(l.inbox_per_second > 0.0 && l.inbox_burst >= 1.0 && l.auth_per_minute > 0.0) {
            errors.push(
                "limits: inbox_per_second and auth_per_minute must be > 0, inbox_burst >= 1"
                    .to_string(),
            );
        }
        if l.inbox_refused_cost < 0.0 {
            errors.push("limits.inbox_refused_cost: must not be negative".to_string());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            errors.push(format!("log.level: {e}"));
        }
        errors
    }

    /// The host (and port, when not the default) that names this instance on the fediverse:
    /// the part after `@` in `acct:name@host` and the key peers file us under.
    pub fn domain(&self) -> String {
        let url = &self.server.base_url;
        let host = url.host_str().unwrap_or("localhost");
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The database URL actually used: `database.url`, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            let path = self.server.data_dir.join("guildhall.db");
            format!("sqlite://{}?mode=rwc", path.display())
        } else {
            self.database.url.clone()
        }
    }

    /// The settings as TOML with secrets masked, for `guildhall config check`.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = mask_url_password(&self.database.url);
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// One figment error as `section.key: problem (in SOURCE)`.
fn describe(e: figment::Error) -> String {
    let source = e
        .metadata
        .as_ref()
        .map(|m| format!(" (in {})", m.name))
        .unwrap_or_default();
    if e.path.is_empty() {
        format!("{}{source}", e.kind)
    } else {
        format!("{}: {}{source}", e.path.join("."), e.kind)
    }
}

/// Replaces the password of a URL, if any, by `***`.
pub fn mask_url_password(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let c = Config::from_toml("").expect("defaults load");
        assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.base_url.as_str(), "http://localhost:8080/");
        assert_eq!(c.domain(), "localhost:8080");
        assert_eq!(c.database_url(), "sqlite://./data/guildhall.db?mode=rwc");
        assert_eq!(c.registration.mode, RegistrationMode::Open);
    }

    #[test]
    fn every_bad_key_is_named() {
        let err = Config::from_toml(
            "bogus = 1\n[server]\nbindd = \"x\"\n[registration]\nmode = \"sometimes\"\n[log]\nformat = \"xml\"\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bogus"), "{text}");
        assert!(text.contains("bindd"), "{text}");
        assert!(text.contains("sometimes"), "{text}");
        assert!(text.contains("xml"), "{text}");
        assert_eq!(err.0.len(), 4, "{text}");
    }

    #[test]
    fn semantic_errors_name_keys() {
        let err = Config::from_toml(
            "[server]\nbase_url = \"ftp://x/y\"\n[database]\nurl = \"mysql://x\"\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("server.base_url"), "{text}");
        assert!(text.contains("database.url"), "{text}");
    }

    #[test]
    fn password_is_masked() {
        assert_eq!(
            mask_url_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(mask_url_password(""), "");
    }
}
