//! `haven`: the command line. It parses arguments, sets up logging and calls the libraries.

mod bench;
mod bench_load;
mod cli_forecast;
mod cli_ingest;
mod cli_jobs;
mod cli_lake;
mod cli_ops;
mod cli_publish;
mod cli_report;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use haven_core::handoff::ServerFile;
use haven_core::{Settings, users};

#[derive(Parser)]
#[command(
    name = "haven",
    version,
    about = "Municipal housing preparedness: load, analyse and publish vacant-housing, social-housing, incentive and placement data.",
    after_help = "Start with `haven demo` to load a synthetic municipality and open http://127.0.0.1:8080.\nDatasets and their columns: `haven datasets`; file formats: README.md and schemas/."
)]
struct Cli {
    /// The DuckDB database file.
    #[arg(long, global = true, env = "HAVEN_DB", default_value = ingest::store::DEFAULT_DB)]
    db: PathBuf,
    /// The settings and scheduled imports (default: haven.toml when it exists; see
    /// haven.example.toml). HAVEN_* environment variables override it, flags override both.
    #[arg(long, global = true, env = "HAVEN_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    /// The region's lake: the PostgreSQL database of its DuckLake catalogue
    /// (postgres://user@host:port/db; a password is best left to PGPASSWORD or ~/.pgpass), or
    /// a folder for a lake on this machine. Releases then go to it [env: HAVEN_LAKE]
    #[arg(long, global = true, value_name = "CATALOG")]
    lake: Option<String>,
    /// Where the lake's data files go: s3://bucket/prefix (credentials: HAVEN_S3_KEY_ID and
    /// HAVEN_S3_SECRET; an S3-compatible server: HAVEN_S3_ENDPOINT), or a folder
    /// [env: HAVEN_LAKE_DATA]
    #[arg(long, global = true, value_name = "URL")]
    data: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a file (or every file of a folder) and load it into a dataset.
    ///
    /// Every row is accepted or rejected with its line, column, value and reason; a file
    /// loads as one batch, whole or not at all. When `haven serve` holds the database the
    /// load is handed to it. Exit code 0: all rows loaded (or unchanged); 2: rows were
    /// rejected or the file was refused; 1: the load failed.
    Ingest(cli_ingest::IngestArgs),
    /// Generate the demo municipality, load it, and serve it on 127.0.0.1:8080.
    Demo(DemoArgs),
    /// Serve the dashboard and API.
    Serve(ServeArgs),
    /// List the datasets with their columns (required ones marked *).
    Datasets,
    /// Bring the indicators and segregation indices up to date with the loaded data (also run
    /// after every load): parts whose inputs did not change since their last run are kept.
    /// Officers see the result at once; the public at the next release (`haven publish`).
    Analyze(AnalyzeArgs),
    /// Run the preparedness scenario: how many of an inflow of N persons can be housed within
    /// 30 and 90 days, where, at what cost, with and without a cap on concentration.
    Scenario(ScenarioArgs),
    /// Forecast persons in placements for the next months with 80 % and 95 % intervals (from
    /// the register; `--published` from the latest release, as the public sees it), add
    /// announced arrivals, and show the persons, homes and bedrooms needed against the places
    /// available now and within 30 and 90 days. `--backtest` shows how the model did on its
    /// own history (MASE and interval coverage; see docs/forecast.md).
    Forecast(cli_forecast::ForecastArgs),
    /// Write the council report of the latest release as PDF and HTML: headline figures with
    /// their change over a year, the district map, segregation and its significance, the
    /// scenario, the forecast, the activation pipeline, the loads behind the release and
    /// method notes, each with its period and source. Published figures only: the report may
    /// be handed to anyone. `--lang` takes any language of the dashboard (en, nl, fr).
    Report(cli_report::ReportArgs),
    /// Make a new open-data release: the figures built on placements pass the disclosure step
    /// (protected and audited against every earlier release; see docs/disclosure.md), then
    /// every published dataset is written as CSV, Parquet and GeoJSON with checksums and a
    /// Frictionless data package, in an immutable version folder that the catalogue lists and
    /// the public API serves. Nothing is written when nothing changed since the last release.
    /// Exit codes: 0 released (or nothing changed), 2 held back or refused by the disclosure
    /// step, 1 failure.
    Publish(PublishCmd),
    /// Manage the officer and admin accounts of the API. A token is shown once, when the user
    /// is added, and stored only as an argon2 hash.
    Users(UsersCmd),
    /// The scheduled imports of haven.toml (see haven.example.toml): list them, run one now,
    /// or show its runs.
    Jobs(cli_jobs::JobsCmd),
    /// Show recent loads, or the rejected rows of one load.
    Batches(cli_ingest::BatchesArgs),
    /// Erase personal data: one household on its request, or the placements past the
    /// retention period. Recorded in `erasures` (and, beside a server, in the audit log).
    Erase(cli_ops::EraseCmd),
    /// Take a consistent backup (the database and the releases, with checksums) into a new
    /// folder, also while `haven serve` runs. Schedule it with cron or a systemd timer.
    Backup(cli_ops::BackupArgs),
    /// Check a backup and restore it into the database path (`--db`) and the releases folder,
    /// neither of which may exist yet.
    Restore(cli_ops::RestoreArgs),
    /// Re-encrypt the database with a new key (key rotation), encrypt a plain one, or decrypt
    /// it: a checked copy replaces it. The server must be stopped; give the old key as usual.
    Rekey(cli_ops::RekeyArgs),
    /// The region's lake (DuckLake, its catalogue in PostgreSQL, its files in object
    /// storage; see docs/scale.md): push a release to it, list its releases, read a table.
    Lake(cli_lake::LakeCmd),
    /// Measure ingest, indicators and segregation against their outside references and record
    /// the figures in BENCHMARKS.md.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Permutations of the significance tests (default 999; 0 skips them) [env: HAVEN_PERMUTATIONS]
    #[arg(long)]
    pub permutations: Option<usize>,
    /// Recompute everything, even the parts whose inputs did not change since the last run.
    #[arg(long)]
    pub full: bool,
}

#[derive(Args)]
struct UsersCmd {
    #[command(subcommand)]
    action: UsersAction,
}

#[derive(Subcommand)]
enum UsersAction {
    /// Add a user and print its token on standard output (shown once; keep it safe).
    Add {
        /// Login name: a-z, 0-9, . _ - @.
        name: String,
        /// officer: restricted views and uploads; admin: also user management and the audit log.
        #[arg(long, value_parser = ["officer", "admin"])]
        role: String,
        /// Days the token works; 0: no expiry.
        #[arg(long, default_value_t = users::DEFAULT_TOKEN_DAYS)]
        expires_in_days: u32,
        /// On a region's Haven (its intake): the municipality (code) the user belongs to. Such
        /// a user reaches only the region's routes, and there acts for that municipality alone
        /// (sends its releases, reads its restricted figures). Without it, a user of a region's
        /// Haven is a regional one (an admin there acts for every municipality).
        #[arg(long, value_name = "CODE")]
        municipality: Option<String>,
    },
    /// Give a user a new token (printed on standard output, once); the old one stops working.
    Rotate {
        name: String,
        /// Days the new token works; 0: no expiry.
        #[arg(long, default_value_t = users::DEFAULT_TOKEN_DAYS)]
        expires_in_days: u32,
    },
    /// List the users: names, roles, when they were added and when their tokens expire.
    List,
    /// Remove a user; its token stops working.
    Remove { name: String },
}

#[derive(Args)]
struct PublishCmd {
    #[command(flatten)]
    publish: cli_publish::PublishArgs,
    /// Write a release even if nothing changed since the last one.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct ScenarioArgs {
    /// Persons arriving.
    #[arg(long)]
    inflow: u32,
    /// Highest location quotient of persons placed allowed in a district.
    #[arg(long, default_value_t = haven_core::scenario::DEFAULT_LQ_CAP)]
    lq_cap: f64,
}

#[derive(Args)]
struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    suite: bench::Suite,
    /// Vacant properties in the benchmark file (districts: one per 100 properties).
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Runs; the medians are recorded.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Folder for the generated benchmark files.
    #[arg(long, default_value = "data/bench")]
    dir: PathBuf,
    /// The file the figures are written to (its ingest section is replaced).
    #[arg(long, default_value = "BENCHMARKS.md")]
    record: PathBuf,
    /// Concurrent connections of `load`.
    #[arg(long, default_value_t = 1000)]
    connections: u32,
    /// Seconds of `load`.
    #[arg(long, default_value_t = 60)]
    seconds: u32,
    /// Minutes of `soak`.
    #[arg(long, default_value_t = 30)]
    minutes: usize,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Serve the region from its lake instead of a municipality's database: a stateless,
    /// read-only reader of the lake's public catalogue (give the public readers' credentials:
    /// --lake, --data and HAVEN_S3_*), as many as needed behind a load balancer. It shows
    /// every municipality's latest release and prints the address it listens on.
    #[arg(long)]
    region: bool,
    /// With --region: how often the reader moves on to the lake's latest snapshot; until it
    /// does, every answer is read at the one it is pinned to.
    #[arg(
        long,
        default_value_t = 60,
        value_name = "SECONDS",
        requires = "region"
    )]
    refresh_seconds: u64,
    /// With --region: the answers kept at the pinned snapshot, at most this many MiB (the
    /// oldest let go first); 0 keeps none, so every answer is read from the lake.
    #[arg(long, default_value_t = 256, value_name = "MIB", requires = "region")]
    keep_answers_mib: usize,
}

#[derive(Args)]
struct DemoArgs {
    /// Seed of the generator: the same seed gives the same municipality.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write a large set with this many vacant properties instead (benchmarks; 1000000 gives
    /// 10,000 districts).
    #[arg(long, value_name = "VACANT_PROPERTIES")]
    scale: Option<usize>,
    /// Folder for the generated files.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only write the files; do not load them.
    #[arg(long)]
    no_load: bool,
    /// Load, then exit instead of serving.
    #[arg(long)]
    no_serve: bool,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Districts of the generated municipality (a small one: `--districts 5 --placements 40`).
    #[arg(long, value_name = "N")]
    districts: Option<usize>,
    /// Placements of the generated municipality.
    #[arg(long, value_name = "N")]
    placements: Option<usize>,
    /// The generated municipality's code (its districts are the code and a number), so that
    /// several demo municipalities can make up a region; it is placed on the region's map by
    /// the code's last two digits (BE22001, BE22002, … side by side) [default: BE12099]
    #[arg(long, value_name = "CODE")]
    municipality: Option<String>,
    #[command(flatten)]
    publish: cli_publish::PublishArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes, each cause once: a cause whose text the message before it already
/// contains (as the crates' error types print their sources) is not repeated.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HAVEN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_target(false).init();
    }
}

/// The configuration file: `--config` (or HAVEN_CONFIG), else haven.toml when it exists.
fn config_path(cli: &Cli) -> Option<PathBuf> {
    cli.config
        .clone()
        .or_else(|| Some(PathBuf::from("haven.toml")).filter(|p| p.exists()))
}

/// The one `Settings` of this run: the configuration file, then the environment (read here
/// and nowhere else); each command then applies its flags.
fn settings(cli: &Cli) -> Result<Settings> {
    let path = config_path(cli);
    let text = match &path {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    let file = path.as_deref().zip(text.as_deref());
    let mut s = Settings::build(&cli.db, file, &|k| std::env::var(k).ok())?;
    s.set_lake(cli.lake.clone(), cli.data.clone())?;
    Ok(s)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut settings = settings(&cli)?;
    let config = config_path(&cli);
    match cli.command {
        Command::Ingest(args) => cli_ingest::ingest(&settings, &args),
        Command::Batches(args) => cli_ingest::batches(&settings, &args),
        Command::Scenario(args) => {
            // The register's own figures, for whoever holds the database (or its server's admin).
            let s = if let Some(info) = cli_ingest::running_server(&cli.db) {
                let path = format!(
                    "/api/v1/admin/scenario?inflow={}&lq_cap={}",
                    args.inflow, args.lq_cap
                );
                cli_ingest::server_call(&info, "GET", &path, None)?
            } else {
                let store = open_read_only(&settings)?;
                let s = haven_core::scenario::scenario(
                    &store,
                    args.inflow,
                    Some(args.lq_cap),
                    haven_core::scenario::Basis::Live,
                )?;
                serde_json::to_value(s)?
            };
            println!("{}", serde_json::to_string_pretty(&s)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Forecast(args) => cli_forecast::forecast(&cli.db, &settings, &args),
        Command::Report(args) => cli_report::report(&cli.db, &settings, &args),
        Command::Analyze(args) => {
            if let Some(n) = args.permutations {
                settings.set_permutations(n);
            }
            if let Some(info) = cli_ingest::running_server(&cli.db) {
                eprintln!(
                    "A Haven server holds {}; asking it to analyse",
                    cli.db.display()
                );
                let r = cli_ingest::server_call(
                    &info,
                    "POST",
                    "/api/v1/admin/analyze",
                    Some(serde_json::json!({"full": args.full, "permutations": args.permutations})),
                )?;
                cli_ingest::print_analysis(&serde_json::from_value(r)?);
                return Ok(ExitCode::SUCCESS);
            }
            let store = open_store(&settings)?;
            cli_ingest::analyze(&store, &settings, args.full)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs(cmd) => cli_jobs::run(&settings, config.as_deref(), &cmd),
        Command::Users(cmd) => {
            if let Some(info) = cli_ingest::running_server(&cli.db) {
                return users_on_server(&info, cmd.action);
            }
            let store = open_store(&settings)?;
            match cmd.action {
                UsersAction::Add {
                    name,
                    role,
                    expires_in_days,
                    municipality,
                } => {
                    let role: users::Role = role.parse()?;
                    let token = users::add_user_of(
                        &store,
                        &name,
                        role,
                        expires_in_days,
                        municipality.as_deref(),
                    )?;
                    print_new_user(&name, role.as_str(), &token);
                }
                UsersAction::Rotate {
                    name,
                    expires_in_days,
                } => {
                    let token = users::rotate_token(&store, &name, expires_in_days)?;
                    print_rotated(&name, &token);
                }
                UsersAction::List => {
                    for u in users::list_users(&store)? {
                        print_user(
                            &u.name,
                            u.role.as_str(),
                            &u.created_at,
                            u.expires_at.as_deref(),
                            u.municipality.as_deref(),
                        );
                    }
                }
                UsersAction::Remove { name } => {
                    users::remove_user(&store, &name)?;
                    eprintln!("removed {name}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Publish(args) => {
            if let Some(info) = cli_ingest::running_server(&cli.db) {
                anyhow::ensure!(
                    !args.publish.any(),
                    "a Haven server holds {}; it publishes with its own settings (haven.toml and its environment), so the release flags given here would not apply: drop them, or stop the server",
                    cli.db.display()
                );
                eprintln!(
                    "A Haven server holds {}; asking it for a release",
                    cli.db.display()
                );
                let r = cli_ingest::server_call(
                    &info,
                    "POST",
                    "/api/v1/admin/publish",
                    Some(serde_json::json!({"force": args.force})),
                )?;
                return Ok(cli_publish::print_release(&r));
            }
            args.publish.apply(&mut settings)?;
            let store = open_store(&settings)?;
            cli_publish::publish(&store, &settings, args.force)
        }
        Command::Serve(args) if args.region => {
            serve_region(&settings, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            // A configuration with a mistake stops start-up before anything is served.
            let config = config.map(|p| jobs::Config::load(&p)).transpose()?;
            let store = open_store(&settings)?;
            serve(store, settings, args.addr, config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lake(cmd) => cli_lake::lake(&cli.db, &settings, &cmd),
        Command::Datasets => {
            for s in ingest::schema::all() {
                println!("{} ({:?}): {}", s.name, s.privacy, s.title);
                let cols: Vec<String> = s
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}{}",
                            f.name,
                            if f.constraints.required && !s.is_derived(&f.name) {
                                "*"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect();
                println!("  {}\n", cols.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            args.publish.apply(&mut settings)?;
            demo(&settings, &args)
        }
        Command::Bench(args) => {
            let sizes = bench::Sizes {
                connections: args.connections,
                seconds: args.seconds,
                minutes: args.minutes,
            };
            bench::run(
                args.suite,
                &args.dir,
                args.rows,
                args.runs,
                sizes,
                &args.record,
            )
        }
        Command::Erase(cmd) => cli_ops::erase(&settings, &cmd),
        Command::Backup(args) => cli_ops::backup(&settings, &args),
        Command::Restore(args) => cli_ops::restore(&settings, &args),
        Command::Rekey(args) => cli_ops::rekey(&settings, &args),
    }
}

/// The runtime of a server process (`haven serve`, with or without `--region`).
///
/// Blocking work (DuckDB reads on the pool's eight readers, tile encoding, writes behind the one
/// writer) runs on a bounded set of threads: a thousand visitors at once queue for them instead
/// of starting hundreds of threads, each keeping memory of its own.
///
/// A server holds its memory for months, and transparent huge pages make its resident size
/// creep: a 2 MiB page stays resident for the few bytes left in it, and the kernel's khugepaged
/// gathers half-empty ranges back into huge pages (the soak's readings rose by a tenth over half
/// an hour with them; BENCHMARKS.md). The process asks the kernel for none, for every allocator
/// in it (mimalloc's, DuckDB's jemalloc, glibc's), whatever the system's setting.
fn server_runtime() -> Result<tokio::runtime::Runtime> {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!("transparent huge pages stay on for this server: {e}");
    }
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?)
}

/// Threads for blocking work in `haven serve` (tokio's default is 512).
const BLOCKING_THREADS: usize = 64;

fn serve(
    store: ingest::Store,
    settings: Settings,
    addr: SocketAddr,
    config: Option<jobs::Config>,
) -> Result<()> {
    let runtime = server_runtime()?;
    store.return_memory_promptly()?;
    let mut state = api::AppState::new(store, settings)?;
    let config = config.map(|mut c| {
        c.resolve_secrets(&|k| std::env::var(k).ok());
        std::sync::Arc::new(c)
    });
    if let Some(c) = &config {
        // `haven jobs run NAME` beside the server: the server runs the job.
        let (c, db, settings) = (c.clone(), state.database(), state.shared_settings());
        state = state.with_job_runner(std::sync::Arc::new(move |name: &str| {
            let job = c.job(name).ok_or_else(|| {
                let names: Vec<&str> = c.jobs.iter().map(jobs::Job::name).collect();
                haven_core::Error::NotFound(format!("no job '{name}' (jobs: {})", names.join(", ")))
            })?;
            let store = db.connect()?;
            let report = jobs::run_job(&store, job, &settings);
            serde_json::to_value(report).map_err(|e| haven_core::Error::Internal(e.to_string()))
        }));
    }
    runtime.block_on(async move {
        // The retention period, applied at start and every day after.
        let changed = state.clone();
        let _retention = jobs::schedule::start_retention(jobs::schedule::Context {
            db: state.database(),
            settings: state.shared_settings(),
            changed: std::sync::Arc::new(move || changed.data_changed()),
        });
        let _scheduler = match &config {
            Some(c) if !c.jobs.is_empty() => {
                let changed = state.clone();
                let cx = jobs::schedule::Context {
                    db: state.database(),
                    settings: state.shared_settings(),
                    changed: std::sync::Arc::new(move || changed.data_changed()),
                };
                Some(jobs::schedule::start(c, cx).await?)
            }
            _ => None,
        };
        api::serve(state, addr)
            .await
            .with_context(|| format!("serving on {addr}"))
    })
}

/// `haven serve --region`: the lake's public catalogue, read-only, no database opened.
fn serve_region(settings: &Settings, args: &ServeArgs) -> Result<()> {
    let lake = haven_core::region::settings(settings)?;
    let runtime = server_runtime()?;
    let reader = haven_core::regional::Reader::open(lake)?;
    let state =
        api::region::RegionState::new(reader, settings.clone(), args.keep_answers_mib << 20);
    let refresh = std::time::Duration::from_secs(args.refresh_seconds.max(1));
    runtime.block_on(async move {
        api::region::serve(state, args.addr, refresh)
            .await
            .with_context(|| format!("serving on {}", args.addr))
    })
}

fn demo(settings: &Settings, args: &DemoArgs) -> Result<ExitCode> {
    let (mut spec, default_out) = match args.scale {
        Some(n) => (
            ingest::demo::DemoSpec::scaled(args.seed, n),
            format!("data/demo-scale-{n}"),
        ),
        None => (
            ingest::demo::DemoSpec::standard(args.seed),
            "data/demo".to_string(),
        ),
    };
    if let Some(n) = args.districts {
        anyhow::ensure!(n >= 2, "--districts needs at least 2 districts");
        spec.districts = n;
    }
    if let Some(n) = args.placements {
        spec.placements = n;
    }
    if let Some(code) = &args.municipality {
        lake::check_municipality(code)?;
        spec.municipality = code.clone();
        // Side by side with the region's other demo municipalities, not on top of them.
        if args.scale.is_none() {
            spec.origin_km = ingest::demo::region_place(code);
        }
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_out));
    eprintln!(
        "Generating the demo municipality (seed {}) in {}",
        args.seed,
        out.display()
    );
    let files = ingest::demo::generate(&spec, &out)?;
    for f in &files {
        eprintln!(
            "  {:<28} {} ({})",
            f.dataset,
            f.path.display(),
            f.description
        );
    }
    if args.no_load {
        return Ok(ExitCode::SUCCESS);
    }
    let mut target = cli_ingest::Target::open(settings)?;
    let mut clean = true;
    let mut changed = false;
    for f in &files {
        let opts = ingest::IngestOptions {
            origin: "demo".into(),
            ..Default::default()
        };
        let input = ingest::Input::from_path(&f.path)?;
        let report = target.ingest(f.dataset, &input, &opts)?;
        cli_ingest::print_report(&report);
        clean &= report.outcome.is_clean();
        changed |= haven_core::pipeline::changed(&report);
    }
    if !clean {
        eprintln!("Some demo files had rejected rows, as real exports do; they are listed above.");
    }
    if let cli_ingest::Target::Local(store) = &target {
        // The pipeline's policy, with a release asked for: the demo is published at once.
        let done = haven_core::pipeline::follow_up(
            store,
            settings,
            changed,
            haven_core::pipeline::After::Publish,
            &cli_ingest::StepBar::new(),
        )?;
        if let Some(a) = &done.analysis {
            cli_ingest::print_analysis(a);
        }
        if let Some(r) = &done.release
            && cli_publish::print_release(&serde_json::to_value(r)?) != ExitCode::SUCCESS
        {
            eprintln!("The demo is loaded, but its first release was not made (see above).");
        }
    }
    match target {
        cli_ingest::Target::Local(store) if !args.no_serve => {
            serve(store, settings.clone(), args.addr, None)?;
        }
        cli_ingest::Target::Server(info) => {
            eprintln!("Loaded through the running server: {}", info.url)
        }
        cli_ingest::Target::Local(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn print_new_user(name: &str, role: &str, token: &str) {
    eprintln!(
        "added {name} ({role}). The token below is shown once and stored only as a hash; send it as `Authorization: Bearer <token>`."
    );
    println!("{token}");
}

fn print_user(
    name: &str,
    role: &str,
    created_at: &str,
    expires_at: Option<&str>,
    municipality: Option<&str>,
) {
    let expires = expires_at.map_or("never expires".to_string(), |t| format!("expires {t}"));
    let of = municipality.map_or(String::new(), |m| format!("  of {m}"));
    println!("{name:<24} {role:<8} added {created_at}  {expires}{of}");
}

fn print_rotated(name: &str, token: &str) {
    eprintln!(
        "rotated {name}'s token: the old one no longer works. The new token below is shown once."
    );
    println!("{token}");
}

/// Opens (creating if needed) the database for writing with the tables of every crate up to
/// date: the core's (ingest, analyses, releases, users), the scheduled imports' and the audit
/// log. The binary is where all of them meet, so it applies them all.
pub(crate) fn open_store(settings: &Settings) -> Result<ingest::Store> {
    let store = open_store_at(&settings.database, &settings.encryption)?;
    if let Some(limit) = &settings.memory_limit {
        store.set_memory_limit(limit)?;
    }
    Ok(store)
}

/// [`open_store`] for a database of its own (a benchmark's scratch file).
pub(crate) fn open_store_at(
    db: &std::path::Path,
    encryption: &ingest::Encryption,
) -> Result<ingest::Store> {
    let store = haven_core::open_with(db, encryption)
        .with_context(|| format!("opening {}", db.display()))?;
    jobs::migrate(&store)?;
    api::MIGRATIONS.apply(store.conn())?;
    Ok(store)
}

/// Opens the existing database read-only, with its key when it is encrypted.
pub(crate) fn open_read_only(settings: &Settings) -> Result<ingest::Store, ingest::Error> {
    let store = ingest::Store::open_read_only_with(&settings.database, &settings.encryption)?;
    if let Some(limit) = &settings.memory_limit {
        store.set_memory_limit(limit)?;
    }
    Ok(store)
}

/// `haven users` while a server holds the database: the same commands through its admin API,
/// as the local operator (the server's announcement file is readable only by its user).
fn users_on_server(info: &ServerFile, action: UsersAction) -> Result<ExitCode> {
    match action {
        UsersAction::Add {
            name,
            role,
            expires_in_days,
            municipality,
        } => {
            let u = cli_ingest::server_call(
                info,
                "POST",
                "/api/v1/admin/users",
                Some(
                    serde_json::json!({"name": name, "role": role, "expires_in_days": expires_in_days, "municipality": municipality}),
                ),
            )?;
            print_new_user(
                &name,
                u["role"].as_str().unwrap_or(&role),
                u["token"].as_str().context("the server gave no token")?,
            );
        }
        UsersAction::Rotate {
            name,
            expires_in_days,
        } => {
            let path = format!("/api/v1/admin/users/{}/rotate", percent(&name));
            let u = cli_ingest::server_call(
                info,
                "POST",
                &path,
                Some(serde_json::json!({"expires_in_days": expires_in_days})),
            )?;
            print_rotated(
                &name,
                u["token"].as_str().context("the server gave no token")?,
            );
        }
        UsersAction::List => {
            let users = cli_ingest::server_call(info, "GET", "/api/v1/admin/users", None)?;
            for u in users.as_array().map(Vec::as_slice).unwrap_or_default() {
                let text = |k: &str| u[k].as_str().unwrap_or_default().to_string();
                print_user(
                    &text("name"),
                    &text("role"),
                    &text("created_at"),
                    u["expires_at"].as_str(),
                    u["municipality"].as_str(),
                );
            }
        }
        UsersAction::Remove { name } => {
            let path = format!("/api/v1/admin/users/{}", percent(&name));
            cli_ingest::server_call(info, "DELETE", &path, None)?;
            eprintln!("removed {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A path segment, percent-encoded.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
