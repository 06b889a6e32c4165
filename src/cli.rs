//! The command line: `serve`, `migrate`, `config check` and the `admin` commands that
//! operators and tests script.

use crate::{
    config::{Config, LogFormat},
    domain::{accounts, communities},
    state::AppState,
    store::{self, Db},
};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::{io::Read, path::PathBuf, process::ExitCode, time::Duration};
use tracing_subscriber::EnvFilter;

/// Guildhall: a federated server for Communities of Practice.
///
/// With no configuration at all, `guildhall serve` stores everything in ./data/guildhall.db
/// (SQLite) and serves http://localhost:8080. Settings: config/default.toml documents every
/// key; override them with --config FILE or GUILDHALL_<SECTION>__<KEY> variables.
#[derive(Parser, Debug)]
#[command(name = "guildhall", version, about, long_about)]
pub struct Cli {
    /// A TOML configuration file (keys as in config/default.toml).
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: apply migrations (unless database.migrate_on_start = false) and listen.
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administer accounts and communities (prints to stdout; --json for scripts).
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective settings (secrets masked), or each invalid key; exit 1 if invalid.
    Check,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a local user; the password is read from standard input (first line).
    CreateUser(CreateUser),
    /// Approve a pending registration (registration.mode = "approval").
    ApproveUser {
        /// The user's name.
        name: String,
    },
    /// Create a community owned (and moderated) by an existing local user.
    CreateCommunity(CreateCommunity),
    /// List local users.
    ListUsers {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List local communities.
    ListCommunities {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Federation state of this instance.
    #[command(subcommand)]
    Federation(FederationCommand),
}

#[derive(Subcommand, Debug)]
pub enum FederationCommand {
    /// Outgoing delivery queue: how many deliveries wait, and the inboxes that fail.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop federating with a domain (and its subdomains): nothing in, nothing out.
    Block {
        /// The domain, e.g. spam.example.
        domain: String,
        /// Why (kept for the admins).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Federate with a blocked domain again.
    Unblock {
        /// The domain.
        domain: String,
    },
    /// Resume deliveries to an instance marked dead.
    Revive {
        /// The instance, `host` or `host:port`.
        domain: String,
    },
    /// List blocked domains (the admin list; federation.blocked_instances adds more).
    Blocks {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Put a domain (and its subdomains) on the allow list, used in allow-list mode.
    Allow {
        /// The domain, e.g. partner.example.
        domain: String,
        /// Why (kept for the admins).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Take a domain off the allow list.
    Disallow {
        /// The domain.
        domain: String,
    },
    /// Federate with everyone not blocked (`open`) or only with the allow list
    /// (`allowlist`); applies at once to every process, inbound and outbound.
    Mode {
        #[arg(value_parser = ["open", "allowlist"])]
        mode: String,
    },
    /// The federation policy: mode, allow list, block list.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The activities the inbox refused lately, newest first: instance, type, actor, reason.
    Refused {
        /// Only this instance (`host`, `host:port` or a URL).
        #[arg(long, value_name = "HOST")]
        instance: Option<String>,
        /// How many, 1–100.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct CreateUser {
    /// Name: 3-30 lower-case letters, digits or underscores.
    pub name: String,
    /// Make the user an instance admin.
    #[arg(long)]
    pub admin: bool,
    /// E-mail address.
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
    /// Display name.
    #[arg(long, value_name = "TEXT")]
    pub display_name: Option<String>,
}

#[derive(Args, Debug)]
pub struct CreateCommunity {
    /// Name: 3-30 lower-case letters, digits or underscores (shares a namespace with users).
    pub name: String,
    /// The local user who owns it and is its first moderator.
    #[arg(long, value_name = "USER")]
    pub owner: String,
    /// Title (defaults to the name).
    #[arg(long, value_name = "T")]
    pub title: Option<String>,
    /// The domain of practice, in Markdown.
    #[arg(long, value_name = "S", default_value = "")]
    pub summary: String,
    /// Guidelines (rules), in Markdown.
    #[arg(long, value_name = "G", default_value = "")]
    pub guidelines: String,
    /// A topic (repeat for several).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// New members wait for a moderator's approval.
    #[arg(long)]
    pub approval_required: bool,
    /// Private: only members see its posts (implies --approval-required).
    #[arg(long)]
    pub private: bool,
}

/// Runs a parsed command line; the exit code says whether it worked.
pub async fn run(cli: Cli) -> ExitCode {
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("error: invalid configuration:\n{errors}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::Config(ConfigCommand::Check) = cli.command {
        println!("# configuration is valid; effective settings:\n");
        print!("{}", config.to_masked_toml());
        return ExitCode::SUCCESS;
    }
    init_logs(&config);
    let result = match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Admin(cmd) => admin(config, cmd).await,
        Command::Config(_) => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn open_db(config: &Config, migrate: bool) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url(), config.database.max_connections).await?;
    if migrate {
        db.migrate().await?;
    }
    Ok(db)
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    open_db(&config, true).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = open_db(&config, config.database.migrate_on_start).await?;
    let bind = config.server.bind;
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let state = AppState::new(config, db).await?;
    let app = crate::app(state.clone()).await?;
    let worker = crate::delivery::spawn(state.clone());
    let rotation = crate::domain::leadership::spawn(state.clone());
    let inbound = crate::federation::queue::spawn(
        crate::federation::client::federation_config(&state)
            .await?
            .to_request_data(),
    );
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (server.bind)"))?;
    tracing::info!(
        %bind,
        base_url = %state.config.server.base_url,
        backend = ?state.db.backend,
        "guildhall is listening"
    );
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => return result.context("server"),
        () = shutdown_signal() => {}
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: finishing requests"
    );
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result.context("server")?,
        Err(_) => tracing::warn!("shutdown grace period over; dropping open connections"),
    }
    // Deliveries cut off here keep their rows and are sent after the next start.
    worker.abort();
    inbound.abort();
    rotation.abort();
    state.db.pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

async fn admin(config: Config, cmd: AdminCommand) -> anyhow::Result<()> {
    let db = open_db(&config, true).await?;
    let state = AppState::new(config, db).await?;
    match cmd {
        AdminCommand::CreateUser(args) => create_user(&state, args).await,
        AdminCommand::ApproveUser { name } => {
            accounts::approve(&state, &name).await?;
            println!("approved {name}");
            Ok(())
        }
        AdminCommand::CreateCommunity(args) => create_community(&state, args).await,
        AdminCommand::ListUsers { json } => list_users(&state, json).await,
        AdminCommand::ListCommunities { json } => list_communities(&state, json).await,
        AdminCommand::Federation(FederationCommand::Status { json }) => {
            federation_status(&state, json).await
        }
        AdminCommand::Federation(FederationCommand::Block { domain, reason }) => {
            let domain = crate::domain::federation_policy::normalise_domain(&domain)?;
            let mut conn = state.db.pool.acquire().await?;
            store::instances::block(&mut conn, &domain, reason.as_deref()).await?;
            store::modlog::admin_insert(&mut conn, None, "block", Some(&domain), reason.as_deref())
                .await?;
            println!("blocked {domain}");
            print_footprint(&mut conn, &domain, "unblock").await
        }
        AdminCommand::Federation(FederationCommand::Allow { domain, reason }) => {
            let domain = crate::domain::federation_policy::normalise_domain(&domain)?;
            let mut conn = state.db.pool.acquire().await?;
            store::instances::allow(&mut conn, &domain, reason.as_deref()).await?;
            store::modlog::admin_insert(&mut conn, None, "allow", Some(&domain), reason.as_deref())
                .await?;
            println!("allowed {domain}");
            Ok(())
        }
        AdminCommand::Federation(FederationCommand::Disallow { domain }) => {
            let domain = crate::domain::federation_policy::normalise_domain(&domain)?;
            let mut conn = state.db.pool.acquire().await?;
            if !store::instances::disallow(&mut conn, &domain).await? {
                anyhow::bail!("{domain} was not on the allow list");
            }
            store::modlog::admin_insert(&mut conn, None, "disallow", Some(&domain), None).await?;
            println!("took {domain} off the allow list");
            print_footprint(&mut conn, &domain, "allow").await
        }
        AdminCommand::Federation(FederationCommand::Mode { mode }) => {
            let mut conn = state.db.pool.acquire().await?;
            store::instances::set_mode(&mut conn, &mode).await?;
            store::modlog::admin_insert(&mut conn, None, "mode", Some(&mode), None).await?;
            tracing::warn!(%mode, "federation mode changed");
            println!("federation mode: {mode}");
            if mode == "allowlist" {
                let policy = crate::domain::federation_policy::summary(&state).await?;
                println!(
                    "federating only with: {}",
                    if policy["allowed"].as_array().is_some_and(Vec::is_empty) {
                        "nobody (the allow list is empty)".to_string()
                    } else {
                        policy["allowed"].to_string()
                    }
                );
                println!(
                    "nothing stored is deleted; `guildhall admin federation mode open` undoes this"
                );
            }
            Ok(())
        }
        AdminCommand::Federation(FederationCommand::List { json }) => {
            let policy = crate::domain::federation_policy::summary(&state).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&policy)?);
            } else {
                println!("mode: {}", policy["mode"].as_str().unwrap_or_default());
                for (list, what) in [("allowed", "allowed"), ("blocked", "blocked")] {
                    for d in policy[list].as_array().into_iter().flatten() {
                        println!("{what}\t{}", d.as_str().unwrap_or_default());
                    }
                }
            }
            Ok(())
        }
        AdminCommand::Federation(FederationCommand::Refused {
            instance,
            limit,
            json,
        }) => print_refused(&state, instance.as_deref(), limit, json).await,
        AdminCommand::Federation(FederationCommand::Unblock { domain }) => {
            let domain = crate::domain::federation_policy::normalise_domain(&domain)?;
            let mut conn = state.db.pool.acquire().await?;
            if !store::instances::unblock(&mut conn, &domain).await? {
                anyhow::bail!("{domain} was not blocked");
            }
            store::modlog::admin_insert(&mut conn, None, "unblock", Some(&domain), None).await?;
            println!("unblocked {domain}");
            Ok(())
        }
        AdminCommand::Federation(FederationCommand::Revive { domain }) => {
            let mut conn = state.db.pool.acquire().await?;
            if !store::instances::revive(&mut conn, domain.trim()).await? {
                anyhow::bail!("{domain} is not marked dead");
            }
            println!("revived {domain}");
            Ok(())
        }
        AdminCommand::Federation(FederationCommand::Blocks { json }) => {
            let mut conn = state.db.pool.acquire().await?;
            let blocks = store::instances::blocks(&mut conn).await?;
            if json {
                let rows: Vec<_> = blocks
                    .iter()
                    .map(|(d, r)| serde_json::json!({ "domain": d, "reason": r }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for (d, r) in blocks {
                    println!("{d}\t{}", r.unwrap_or_default());
                }
            }
            Ok(())
        }
    }
}

async fn create_user(state: &AppState, args: CreateUser) -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let password = input.lines().next().unwrap_or_default().to_string();
    let user = accounts::create(
        state,
        accounts::NewAccount {
            username: args.name,
            password,
            email: args.email,
            display_name: args.display_name,
            reason: None,
        },
        args.admin,
        true,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created user {} ({})", user.person.name, user.person.ap_id);
    Ok(())
}

async fn create_community(state: &AppState, args: CreateCommunity) -> anyhow::Result<()> {
    let mut conn = state.db.pool.acquire().await?;
    let owner = store::people::find_local_by_name(&mut conn, &args.owner)
        .await?
        .with_context(|| format!("no local user named `{}`", args.owner))?;
    drop(conn);
    let input = communities::NewCommunityInput {
        title: args.title.unwrap_or_else(|| args.name.clone()),
        name: args.name,
        summary: args.summary,
        guidelines: args.guidelines,
        topics: args.topics,
        approval_required: args.approval_required,
        private: args.private,
        ..Default::default()
    };
    let c = communities::create(state, &owner, input)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created community {} ({})", c.name, c.ap_id);
    Ok(())
}

async fn list_users(state: &AppState, json: bool) -> anyhow::Result<()> {
    let mut conn = state.db.pool.acquire().await?;
    let users = store::accounts::list(&mut conn).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(());
    }
    println!("{:<30} {:<6} {:<9} EMAIL", "NAME", "ADMIN", "APPROVED");
    for u in users {
        println!(
            "{:<30} {:<6} {:<9} {}",
            u.name,
            yes_no(u.is_admin),
            yes_no(u.approved),
            u.email.unwrap_or_default()
        );
    }
    Ok(())
}

async fn list_communities(state: &AppState, json: bool) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = communities::list_local(state, after.as_deref(), 100)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        all.extend(page);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.community.name,
                    "title": v.community.title,
                    "actor_id": v.community.ap_id,
                    "topics": v.topics,
                    "owners": v.owners.iter().map(|o| &o.name).collect::<Vec<_>>(),
                    "followers": v.followers,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<30} {:<20} {:>9} TITLE", "NAME", "OWNER", "FOLLOWERS");
    for v in all {
        let owner = v.owners.first().map(|o| o.name.as_str()).unwrap_or("-");
        println!(
            "{:<30} {:<20} {:>9} {}",
            v.community.name, owner, v.followers, v.community.title
        );
    }
    Ok(())
}

async fn federation_status(state: &AppState, json: bool) -> anyhow::Result<()> {
    let mut conn = state.db.pool.acquire().await?;
    let pending = store::deliveries::pending_count(&mut conn).await?;
    let failing = store::deliveries::failing_inboxes(&mut conn).await?;
    let instances = store::instances::health(&mut conn).await?;
    if json {
        let failing: Vec<_> = failing
            .iter()
            .map(|(inbox, n, attempts, error)| {
                serde_json::json!({ "inbox": inbox, "waiting": n, "attempts": attempts, "last_error": error })
            })
            .collect();
        let out = serde_json::json!({
            "pending_deliveries": pending,
            "failing_inboxes": failing,
            "instances": instances,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("pending deliveries: {pending}");
    for i in &instances {
        let state_of = if i.dead {
            "DEAD"
        } else if i.failures > 0 {
            "failing"
        } else {
            "ok"
        };
        println!(
            "  {}: {state_of}, {} failures in a row, last success {}",
            i.domain,
            i.failures,
            i.last_success
                .map(|t| crate::federation::objects::time_of(t).to_rfc3339())
                .unwrap_or_else(|| "never".into())
        );
    }
    for (inbox, n, attempts, error) in failing {
        println!(
            "  {inbox}: {n} waiting, {attempts} attempts, last error: {}",
            error.unwrap_or_default()
        );
    }
    Ok(())
}

async fn print_refused(
    state: &AppState,
    instance: Option<&str>,
    limit: i64,
    json: bool,
) -> anyhow::Result<()> {
    let limit = crate::domain::paging::Paging::size(Some(limit), crate::domain::paging::REFUSED);
    let rows = crate::domain::refused::recent(state, instance, limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no refused activities");
    }
    for r in rows {
        println!(
            "{}\t{}\t{}\t{}\t{} {}: {}",
            crate::federation::objects::time_of(r.created_at).to_rfc3339(),
            r.domain,
            r.kind.as_deref().unwrap_or("-"),
            r.actor.as_deref().unwrap_or("-"),
            r.status,
            r.code,
            r.reason
        );
    }
    Ok(())
}

/// A bare host name, lower case: `https://Spam.Example/x` and `spam.example.` → `spam.example`.
/// Says what federating with `domain` has brought here, and how to undo the change.
async fn print_footprint(
    conn: &mut sqlx::AnyConnection,
    domain: &str,
    undo: &str,
) -> anyhow::Result<()> {
    let (people, follows, posts) = store::instances::footprint(conn, domain).await?;
    tracing::warn!(%domain, people, follows, posts, "federation with an instance stopped");
    println!(
        "from {domain}: {people} people, {follows} follows of our communities, {posts} posts \
         and replies; none of it is deleted (their follows get no deliveries while this \
         lasts); `guildhall admin federation {undo} {domain}` undoes this"
    );
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
