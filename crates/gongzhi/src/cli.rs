//! The command line: `gongzhi serve | demo | migrate | backup | restore | import | export | user |
//! unit | audit | open311 | sortition`. (The benchmarks are their own binary, `gongzhi-bench`.)
//! Errors end with a non-zero exit and a one-line reason (import problems one per line).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gongzhi_core::config::{Config, LogFormat, Overrides};
use gongzhi_core::demo::DemoSize;
use gongzhi_core::identity::{Actor, Assignment, NewUser, Role, Unit};
use gongzhi_core::{areas, audit, identity, Error};

#[derive(Parser)]
#[command(
    name = "gongzhi",
    version,
    about = "gongzhi (共治): grassroots co-governance platform"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Configuration file (default: ./gongzhi.toml when present).
    #[arg(long, global = true, env = "GONGZHI_CONFIG")]
    config: Option<PathBuf>,
    /// Where gongzhi keeps its SQLite file and key (default ./gongzhi-data).
    #[arg(long, global = true, env = "GONGZHI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://… (default: SQLite in the data dir).
    #[arg(long, global = true, env = "GONGZHI_DATABASE_URL")]
    database: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web API (migrates first).
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "GONGZHI_LISTEN")]
        listen: Option<String>,
    },
    /// Seed the Dongcheng demo jurisdiction when the data dir is empty, then serve.
    Demo {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "GONGZHI_LISTEN")]
        listen: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Write a consistent copy of the database to FILE while the server runs (docs/backup.md);
    /// the secret key is not in it: keep secret.key apart.
    Backup { file: PathBuf },
    /// Restore a backup into an empty data dir or database; needs the secret key the backup was
    /// made with (secret.key in the data dir, or security.secret_key).
    Restore { file: PathBuf },
    /// Import areas (all or nothing).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export what is stored.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage units (departments, street offices, community committees, organizations).
    #[command(subcommand)]
    Unit(UnitCommand),
    /// The audit chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Open311 GeoReport v2: API keys for clients that submit requests.
    #[command(subcommand)]
    Open311(Open311Command),
    /// Verifiable sortition (docs/sortition.md).
    #[command(subcommand)]
    Sortition(SortitionCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A division CSV with header code,name,level,parent_code.
    Divisions { file: PathBuf },
    /// A GeoJSON FeatureCollection of areas (properties: code, name, level, parent_code, households, population).
    Geojson { file: PathBuf },
    /// A working calendar's per-date overrides: header date,kind,note (kind: holiday or workday).
    Calendar {
        /// Calendar name; deadlines use the calendar named `default`.
        #[arg(long, default_value = "default")]
        name: String,
        file: PathBuf,
    },
    /// Past cases (header number,kind,category,description,lat,lng,channel,created_at,…,rework_count).
    Cases { file: PathBuf },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Areas as a GeoJSON FeatureCollection.
    Geojson {
        /// Only this level: district, street, community or grid.
        #[arg(long)]
        level: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// resident, grid_worker, operator, dispatcher, handler, leader or admin.
        #[arg(long)]
        role: String,
        /// Area code whose subtree the role covers.
        #[arg(long)]
        scope: Option<String>,
        /// Unit code the role acts for.
        #[arg(long)]
        unit: Option<String>,
        /// Read the password from standard input (required: passwords never go on a command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Full name (personal data; stored encrypted).
        #[arg(long)]
        name: Option<String>,
        /// Phone (personal data; stored encrypted).
        #[arg(long)]
        phone: Option<String>,
    },
}

#[derive(Subcommand)]
enum UnitCommand {
    /// Create a unit.
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// department, street_office, community_committee, organization or enterprise.
        #[arg(long, default_value = "department")]
        kind: String,
        /// Area code the unit serves.
        #[arg(long)]
        area: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole chain; exits non-zero naming the first bad entry.
    Verify {
        /// An anchor file (one statement per line, as `audit anchor` prints them or the server
        /// appends them to `[audit] anchor_file`): the chain must still extend each. Repeatable.
        #[arg(long = "anchor", value_name = "FILE")]
        anchors: Vec<PathBuf>,
    },
    /// Print a signed statement of the chain's head (sequence, hash, time) to keep outside the
    /// database: a public notice, another system. Anyone can check it with the public key.
    Anchor {
        /// Print only the public key the statements are signed with (hex, Ed25519).
        #[arg(long)]
        public_key: bool,
    },
}

#[derive(Subcommand)]
enum Open311Command {
    /// API keys for POST requests.
    #[command(subcommand)]
    Key(Open311KeyCommand),
}

#[derive(Subcommand)]
enum Open311KeyCommand {
    /// Issue a key; the key alone is printed on the last line (shown once, stored hashed).
    Add {
        #[arg(long)]
        name: String,
    },
    /// Keys with their ids, names and whether revoked.
    List,
    /// Revoke a key by its id.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum SortitionCommand {
    /// Re-run a published draw from its JSON record
    /// (`{"candidates","list_hash","commitment","seed","k","result"}`) and confirm it.
    Verify {
        /// The published record (`-` for standard input).
        file: PathBuf,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let flags = Overrides {
        config_file: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database.clone(),
        listen: match &cli.command {
            Command::Serve { listen } | Command::Demo { listen } => listen.clone(),
            _ => None,
        },
    };
    let config = match Config::load(&flags) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    init_logs(&config, matches!(cli.command, Command::Serve { .. }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(execute(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn init_logs(config: &Config, serving: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GONGZHI_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if serving { "info" } else { "warn" })
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = config.log_format.unwrap_or(if serving {
        LogFormat::Json
    } else {
        LogFormat::Text
    }) == LogFormat::Json;
    if json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

fn fail(e: &Error) -> ExitCode {
    if let Error::Invalid {
        details: Some(d), ..
    } = e
    {
        if let Some(problems) = d.get("problems").and_then(|p| p.as_array()) {
            for p in problems {
                let at = p.get("at").and_then(|v| v.as_str()).unwrap_or("");
                let code = p
                    .get("code")
                    .and_then(|v| v.as_str())
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default();
                let what = p.get("problem").and_then(|v| v.as_str()).unwrap_or("");
                eprintln!("{at}{code}: {what}");
            }
        }
    }
    eprintln!("error: {}", e.to_string().replace('\n', " "));
    ExitCode::FAILURE
}

/// The configured secret key, never a new one: the audit chain and the personal fields are
/// keyed with it, and a restore needs the key its backup was made with.
fn existing_secret(config: &Config) -> Result<[u8; 32], Error> {
    if config.secret_key.is_none() && !config.data_dir.join("secret.key").exists() {
        return Err(Error::invalid(
            "no_secret_key",
            format!(
                "no secret key (security.secret_key, GONGZHI_SECRET_KEY or {}): the audit chain and the personal fields are keyed with it; nothing was changed",
                config.data_dir.join("secret.key").display()
            ),
        ));
    }
    gongzhi_core::privacy::load_secret(config.secret_key.as_deref(), &config.data_dir)
}

/// Opens storage for the commands that need the secret key the data was written with (audit,
/// backup): a missing key is an error here, never a new one.
async fn open_keyed(
    config: &Config,
) -> Result<(gongzhi_core::db::Db, gongzhi_core::privacy::Sealer), Error> {
    existing_secret(config)?;
    crate::server::open(config).await
}

fn read_file(path: &PathBuf) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::invalid("file", format!("cannot read {}: {e}", path.display())))
}

async fn execute(command: Command, config: Config) -> Result<(), Error> {
    let cli_actor = Actor::system("cli");
    match command {
        Command::Serve { .. } => {
            let (db, sealer) = crate::server::open(&config).await?;
            let listener = crate::server::bind(&config.listen).await?;
            let running = crate::server::start(config, db, sealer, listener).await?;
            tracing::info!(url = %running.url(), "gongzhi is serving");
            eprintln!("gongzhi is serving on {}", running.url());
            running.wait().await;
        }
        Command::Demo { .. } => demo(config).await?,
        Command::Migrate => {
            let (_, _, n) = crate::server::open_counting(&config).await?;
            println!("applied {n} migration(s)");
        }
        Command::Export(ExportCommand::Geojson { level, output }) => {
            let level = match level.as_deref() {
                None => None,
                Some(l) => Some(areas::Level::parse(l).ok_or_else(|| {
                    Error::invalid("invalid_level", format!("unknown level {l:?}"))
                })?),
            };
            let (db, _) = crate::server::open(&config).await?;
            let doc = areas::export_geojson(&db, level).await?;
            let text = serde_json::to_string(&doc).map_err(Error::internal)?;
            match output {
                Some(path) => std::fs::write(&path, text).map_err(|e| {
                    Error::internal(format!("cannot write {}: {e}", path.display()))
                })?,
                None => println!("{text}"),
            }
        }
        Command::Unit(UnitCommand::Add {
            code,
            name,
            kind,
            area,
        }) => {
            let (db, _) = crate::server::open(&config).await?;
            identity::create_unit(
                &db,
                &cli_actor,
                &Unit {
                    code: code.clone(),
                    name,
                    kind,
                    area_code: area,
                },
            )
            .await?;
            println!("created unit {code}");
        }
        Command::Backup { file } => {
            let key = existing_secret(&config)?;
            let (db, _) = crate::server::open(&config).await?;
            let s = gongzhi_core::backup::write(&db, &key, &file).await?;
            println!(
                "backed up {} rows of {} tables to {} (audit chain at entry {})",
                s.rows,
                s.tables,
                file.display(),
                s.audit_seq
            );
        }
        Command::Restore { file } => {
            let key = existing_secret(&config)?;
            let modules = crate::server::modules();
            let known: Vec<_> = modules.iter().flat_map(|m| m.migrations().iter()).collect();
            let s =
                gongzhi_core::backup::restore(&config.database_url(), &key, &known, &file).await?;
            println!(
                "restored {} rows of {} tables from {} (audit chain at entry {})",
                s.rows,
                s.tables,
                file.display(),
                s.audit_seq
            );
        }
        Command::Import(c) => import(c, &config).await?,
        Command::User(c) => user(c, &config).await?,
        Command::Audit(c) => audit(c, &config).await?,
        Command::Open311(c) => open311(c, &config).await?,
        Command::Sortition(c) => sortition(c)?,
    }
    Ok(())
}

/// `gongzhi import …`: all or nothing.
async fn import(command: ImportCommand, config: &Config) -> Result<(), Error> {
    let cli_actor = Actor::system("cli");
    match command {
        ImportCommand::Divisions { file } => {
            let text = read_file(&file)?;
            let (db, _) = crate::server::open(config).await?;
            let r = areas::import_divisions(&db, &cli_actor, &text).await?;
            println!(
                "imported {}: {} created, {} updated",
                file.display(),
                r.created,
                r.updated
            );
        }
        ImportCommand::Geojson { file } => {
            let text = read_file(&file)?;
            let (db, _) = crate::server::open(config).await?;
            let r = areas::import_geojson(&db, &cli_actor, &text).await?;
            println!(
                "imported {}: {} created, {} updated",
                file.display(),
                r.created,
                r.updated
            );
        }
        ImportCommand::Calendar { name, file } => {
            let text = read_file(&file)?;
            let days = gongzhi_core::calendar::parse_calendar_csv(&text).map_err(|problems| {
                let list: Vec<_> = problems
                    .iter()
                    .map(|(at, p)| serde_json::json!({"at": at, "problem": p}))
                    .collect();
                Error::invalid_with(
                    "import_rejected",
                    format!(
                        "the import was rejected with {} problem(s); nothing was changed",
                        list.len()
                    ),
                    serde_json::json!({"problems": list}),
                )
            })?;
            let (db, _) = crate::server::open(config).await?;
            let n = gongzhi_core::calendar::import(&db, &cli_actor, &name, &days).await?;
            println!("imported {n} calendar day(s) into {name}");
        }
        ImportCommand::Cases { file } => {
            let text = read_file(&file)?;
            let cases = gongzhi_cases::rules::history::parse(&text).map_err(|problems| {
                let list: Vec<_> = problems
                    .iter()
                    .map(|p| serde_json::json!({"at": "", "problem": p}))
                    .collect();
                Error::invalid_with(
                    "import_rejected",
                    format!(
                        "the import was rejected with {} problem(s); nothing was changed",
                        list.len()
                    ),
                    serde_json::json!({"problems": list}),
                )
            })?;
            let (db, _) = crate::server::open(config).await?;
            let index = areas::build_locate_index(&db).await?;
            let n =
                gongzhi_cases::commands::import_history(&db, &index, &cli_actor, &cases).await?;
            println!("imported {n} case(s) from {}", file.display());
        }
    }
    Ok(())
}

/// `gongzhi user add`: the password from standard input.
async fn user(command: UserCommand, config: &Config) -> Result<(), Error> {
    let cli_actor = Actor::system("cli");
    match command {
        UserCommand::Add {
            username,
            role,
            scope,
            unit,
            password_stdin: _,
            name,
            phone,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| {
                    Error::invalid(
                        "password",
                        format!("cannot read the password from standard input: {e}"),
                    )
                })?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let (db, sealer) = crate::server::open(config).await?;
            let user = NewUser {
                username: username.clone(),
                password,
                assignments: vec![Assignment {
                    role: Role::parse(&role)?,
                    area: scope,
                    unit,
                }],
                full_name: name,
                phone,
                email: None,
            };
            let id = identity::create_user(&db, &sealer, &cli_actor, &user).await?;
            println!("created user {username} ({id})");
        }
    }
    Ok(())
}

/// `gongzhi audit verify | anchor`.
async fn audit(command: AuditCommand, config: &Config) -> Result<(), Error> {
    match command {
        AuditCommand::Verify { anchors } => {
            let mut all = Vec::new();
            for path in &anchors {
                let text = read_file(path)?;
                let found = audit::Anchor::parse_all(&text).map_err(|e| {
                    Error::invalid("invalid_anchor", format!("{}: {e}", path.display()))
                })?;
                if found.is_empty() {
                    return Err(Error::invalid(
                        "invalid_anchor",
                        format!("{}: no anchor in it", path.display()),
                    ));
                }
                all.extend(found);
            }
            let (db, _) = open_keyed(config).await?;
            match audit::verify_with_anchors(&db, &all).await? {
                Ok(n) if all.is_empty() => println!("audit chain intact: {n} entries"),
                Ok(n) => println!(
                    "audit chain intact: {n} entries, extending all {} anchor(s)",
                    all.len()
                ),
                Err(b) => return Err(Error::Conflict(format!("audit chain broken at {b}"))),
            }
        }
        AuditCommand::Anchor { public_key } => {
            let (db, _) = open_keyed(config).await?;
            if public_key {
                println!("{}", audit::public_key(&db)?);
            } else {
                let a = audit::anchor(&db).await?;
                println!("{}", serde_json::to_string(&a).map_err(Error::internal)?);
            }
        }
    }
    Ok(())
}

/// `gongzhi open311 key …`.
async fn open311(command: Open311Command, config: &Config) -> Result<(), Error> {
    match command {
        Open311Command::Key(k) => {
            let (db, _) = crate::server::open(config).await?;
            let actor = Actor::system("cli");
            match k {
                Open311KeyCommand::Add { name } => {
                    let key = gongzhi_open311::commands::keys::add_key(&db, &actor, &name).await?;
                    println!("Open311 API key for {name} (shown once):");
                    println!("{key}");
                }
                Open311KeyCommand::List => {
                    for (id, name, created, revoked) in
                        gongzhi_open311::queries::keys::list_keys(&db).await?
                    {
                        println!(
                            "{id}\t{name}\t{created}\t{}",
                            revoked
                                .map(|r| format!("revoked {r}"))
                                .unwrap_or_else(|| "active".into())
                        );
                    }
                }
                Open311KeyCommand::Revoke { id } => {
                    gongzhi_open311::commands::keys::revoke_key(&db, &actor, &id).await?;
                    println!("revoked {id}");
                }
            }
        }
    }
    Ok(())
}

/// `gongzhi sortition verify`.
fn sortition(command: SortitionCommand) -> Result<(), Error> {
    match command {
        SortitionCommand::Verify { file } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(Error::internal)?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| Error::invalid("file", format!("{}: {e}", file.display())))?
            };
            #[derive(serde::Deserialize)]
            struct Record {
                candidates: Vec<String>,
                list_hash: String,
                commitment: String,
                seed: String,
                k: usize,
                result: Vec<String>,
            }
            let r: Record = serde_json::from_str(&text)
                .map_err(|e| Error::invalid("invalid_record", e.to_string()))?;
            gongzhi_deliberation::sortition::verify(
                &r.candidates,
                &r.list_hash,
                &r.commitment,
                &r.seed,
                r.k,
                &r.result,
            )
            .map_err(|e| Error::Conflict(format!("the draw does not verify: {e}")))?;
            println!(
                "the draw verifies: {} of {} candidates, seed matches its commitment",
                r.result.len(),
                r.candidates.len()
            );
        }
    }
    Ok(())
}

/// `gongzhi demo`: seed when empty, then serve and say how to sign in.
async fn demo(config: Config) -> Result<(), Error> {
    let (db, sealer) = crate::server::open(&config).await?;
    if areas::count_areas(&db).await? == 0 {
        eprintln!(
            "seeding the Dongcheng demo into {} …",
            config.data_dir.display()
        );
        for line in crate::server::seed_demo(&db, &sealer, DemoSize::FULL).await? {
            println!("  {line}");
        }
    }
    let listener = crate::server::bind(&config.listen).await?;
    let running = crate::server::start(config, db, sealer, listener).await?;
    let url = running.url();
    println!("gongzhi demo (东城区) is serving on {url}");
    println!("  try: curl '{url}/api/v1/areas/locate?lat=39.915&lng=116.405'");
    println!("  demo users (user name / password / role):");
    for u in crate::server::modules().iter().flat_map(|m| m.demo_users()) {
        println!(
            "    {:<11} {:<16} {}",
            u.username,
            u.password,
            u.role.as_str()
        );
    }
    println!("  open in a browser: {url}/  ·  Open311: {url}/open311/v2/services.json");
    println!("  sign in: curl -X POST {url}/api/v1/auth/token -H 'content-type: application/json' -d '{{\"username\":\"admin\",\"password\":\"admin-demo\"}}'");
    running.wait().await;
    Ok(())
}
