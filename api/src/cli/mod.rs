//! The `canyu` command line: `serve` (default), `migrate`, `export-schema`, `create-admin`,
//! `rotate-keys`, `seed-demo` (its data in [`demo`]), `sync-compact`, `backup`. Configuration
//! comes from the environment (see `config.rs`).

pub mod demo;

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::auth::keys::KeyStore;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::http::Application;
use crate::state::{AppState, longest_token_ttl};

#[derive(Parser)]
#[command(
    name = "canyu",
    version,
    about = "Canyu: an offline-first GraphQL API for user co-creation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Migrate the database and serve HTTP (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Print the GraphQL schema (SDL); `schema.graphql` is its committed output.
    ExportSchema,
    /// Create an ADMIN (password from stdin; a prompt on a terminal) or promote an existing user.
    CreateAdmin {
        #[arg(long)]
        handle: String,
    },
    /// Add a new signing key; older keys keep verifying until their tokens expire.
    RotateKeys,
    /// Fill the database with a demo: communities, fans, suggestions, votes, comments, responses.
    SeedDemo {
        #[arg(long, default_value_t = 300)]
        users: usize,
        #[arg(long, default_value_t = 3000)]
        suggestions: usize,
        #[arg(long, default_value_t = 30_000)]
        votes: usize,
        #[arg(long, default_value_t = 6000)]
        comments: usize,
    },
    /// Purge sync tombstones older than `SYNC_TOMBSTONE_HORIZON_SECS` (serve also does it hourly).
    SyncCompact,
    /// Copy the SQLite database to a new file, consistently, while the server keeps running.
    Backup { path: String },
}

/// Runs the command line.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::ExportSchema = command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    crate::telemetry::init_tracing();
    let config = Config::from_env()?;
    match command {
        Command::Serve => {
            let state = start(config).await?;
            let app = Application::build(state)?;
            tracing::info!(port = app.port(), "canyu listening; GraphiQL at /graphql");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = crate::db::connect(&config.database_url, 1, None).await?;
            crate::db::migrate(&db).await?;
            println!("database is up to date");
        }
        Command::CreateAdmin { handle } => {
            let state = start(config).await?;
            let password = read_password()?;
            let (user, created) = crate::services::users::create_admin(&state, &handle, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let verb = if created { "created" } else { "promoted" };
            println!("{verb} {} as ADMIN ({})", user.handle, user.id);
        }
        Command::RotateKeys => {
            let state = start(config).await?;
            let kid = state
                .keys
                .rotate()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("new signing key {kid}; older keys verify until their tokens expire");
        }
        Command::SeedDemo {
            users,
            suggestions,
            votes,
            comments,
        } => {
            let state = start(config).await?;
            let size = demo::DemoSize {
                users,
                suggestions,
                votes,
                comments,
            };
            let report = demo::seed(&state, size)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "seeded {} users, {} suggestions, {} votes, {} comments",
                report.users, report.suggestions, report.votes, report.comments
            );
            for (id, slug) in &report.communities {
                println!("community {slug}: {id}");
            }
            println!(
                "every demo account (fan00000…, {}) has the password {}",
                report.staff_handle,
                demo::DEMO_PASSWORD
            );
        }
        Command::SyncCompact => {
            let state = start(config).await?;
            let purged = crate::sync::compact(&state)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("purged {purged} sync tombstones older than the horizon");
        }
        Command::Backup { path } => {
            let db = crate::db::connect(&config.database_url, 1, None).await?;
            crate::db::backup(&db, &path).await?;
            println!("backed up the database to {path}");
        }
        Command::ExportSchema => {}
    }
    Ok(())
}

/// The password for `create-admin`: prompted on a terminal, else the first line of stdin.
/// An empty answer means "promote only".
fn read_password() -> anyhow::Result<Option<String>> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password for the new admin (empty to only promote): ")
            .context("reading the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    Ok((!password.is_empty()).then_some(password))
}

/// Starts a server's state: connects to the database, migrates it, makes sure the sync counter
/// (with the cursor key) and a signing key exist, and that data from before sync is in the
/// change index; starts the background tasks every server runs (the event listener, and
/// `tasks.rs`). Every command that serves or works on the database begins here.
pub async fn start(config: Config) -> AppResult<AppState> {
    // Migrations and the start-up work run on a connection of their own, free of the
    // statement time limit (which is the requests').
    let setup = crate::db::connect(&config.database_url, 1, None).await?;
    crate::db::migrate(&setup).await?;
    let cursor_key = crate::changes::ensure_counter(&setup).await?;
    KeyStore::new(setup.clone(), longest_token_ttl(&config))
        .ensure_key()
        .await?;
    crate::changes::index_existing_data(&setup).await?;
    setup.close().await?;
    let db = crate::db::connect(
        &config.database_url,
        config.database_max_connections,
        Some(config.request_timeout),
    )
    .await?;
    let state = AppState::from_parts(db, config, cursor_key)?;
    state
        .events
        .listen(&state.db, &state.config.database_url)
        .await?;
    crate::tasks::spawn_all(&state);
    state
        .db_health
        .watch(&state.config.database_url)
        .map_err(|e| AppError::internal(format!("cannot start the database probe: {e}")))?;
    Ok(state)
}
