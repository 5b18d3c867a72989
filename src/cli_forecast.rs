//! `haven forecast`: the needs forecast as tables (or JSON), from the register or, with
//! `--published`, as the public sees it; `--backtest` scores the model on its own history.
//! Beside a running server it asks the server, which holds the database.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use haven_core::Settings;
use haven_core::forecast;
use serde_json::Value;

#[derive(Args, Debug)]
pub struct ForecastArgs {
    /// Months ahead (1 to 12).
    #[arg(long, default_value_t = forecast::HORIZON)]
    pub months: usize,
    /// Announced arrivals, YYYY-MM:persons separated by commas (2027-01:120,2027-03:80).
    #[arg(long, default_value = "")]
    pub announced: String,
    /// The public forecast: from the latest release's published figures and the default
    /// household mix, as `/api/v1/forecast` answers.
    #[arg(long)]
    pub published: bool,
    /// Backtest the model on its history (rolling origin) instead of forecasting.
    #[arg(long)]
    pub backtest: bool,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

pub fn forecast(db: &Path, settings: &Settings, args: &ForecastArgs) -> Result<ExitCode> {
    let announced = forecast::parse_announced(&args.announced)?;
    let basis = if args.published {
        forecast::Basis::Published
    } else {
        forecast::Basis::Live
    };
    let value = if let Some(info) = crate::cli_ingest::running_server(db) {
        let root = if args.published {
            "/api/v1/forecast"
        } else {
            "/api/v1/officer/forecast"
        };
        let path = if args.backtest {
            format!("{root}/backtest")
        } else {
            let list: Vec<String> = announced
                .iter()
                .map(|a| format!("{}:{}", a.month, a.persons))
                .collect();
            format!("{root}?months={}&announced={}", args.months, list.join(","))
        };
        crate::cli_ingest::server_call(&info, "GET", &path, None)?
    } else {
        let store = crate::open_read_only(settings)?;
        if args.backtest {
            serde_json::to_value(forecast::backtest(&store, basis)?)?
        } else {
            serde_json::to_value(forecast::forecast(&store, basis, args.months, &announced)?)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if args.backtest {
        print_backtest(&value);
    } else {
        print_forecast(&value);
    }
    Ok(ExitCode::SUCCESS)
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn print_backtest(b: &Value) {
    println!(
        "Backtest on {} months: {} origins, each fitted on the months before it alone.",
        b["months"], b["origins"]
    );
    println!(
        "MASE: mean absolute error over the mean month-to-month change (1 = the last value one \
         month ahead). Inside: outcomes within the intervals as given (calibrated on the errors \
         known at each origin), and within the model's own.\n"
    );
    println!(
        "{:<16} {:>6} {:>7} {:>12} {:>12} {:>14} {:>10}",
        "method", "ahead", "MASE", "inside 80 %", "inside 95 %", "model's 80/95", "forecasts"
    );
    for s in b["scores"].as_array().into_iter().flatten() {
        let pct = |v: &Value| {
            v.as_f64()
                .map_or("–".to_string(), |v| format!("{:.0} %", v * 100.0))
        };
        let model = match (
            s["model_coverage_80"].as_f64(),
            s["model_coverage_95"].as_f64(),
        ) {
            (Some(a), Some(b)) => format!("{:.0} / {:.0} %", a * 100.0, b * 100.0),
            _ => "–".into(),
        };
        println!(
            "{:<16} {:>6} {:>7.2} {:>12} {:>12} {:>14} {:>10}",
            s["method"].as_str().unwrap_or_default(),
            format!("{} mo", s["horizon"]),
            num(&s["mase"]),
            pct(&s["coverage_80"]),
            pct(&s["coverage_95"]),
            model,
            s["forecasts"]
        );
    }
}

fn print_forecast(f: &Value) {
    let p = &f["persons_placed"];
    println!(
        "Persons in placements ({} basis): {:.0} in {}; model {} on {} months.",
        f["basis"].as_str().unwrap_or_default(),
        num(&p["last_value"]),
        p["last_month"].as_str().unwrap_or_default(),
        p["model"].as_str().unwrap_or_default(),
        p["history_months"]
    );
    let places = &f["places"];
    println!(
        "Places in homes: {} now, {} within 30 days, {} within 90 days.\n",
        places["now"], places["within_30_days"], places["within_90_days"]
    );
    println!(
        "{:<8} {:>8} {:>13} {:>9} {:>7} {:>9} {:>7} {:>18}",
        "month",
        "placed",
        "95 % interval",
        "+persons",
        "homes",
        "bedrooms",
        "places",
        "short (95 %)"
    );
    let months = p["months"].as_array().cloned().unwrap_or_default();
    let needs = f["needs"].as_array().cloned().unwrap_or_default();
    for (b, n) in months.iter().zip(&needs) {
        let s = &n["shortfall_persons"];
        println!(
            "{:<8} {:>8.0} {:>13} {:>9.0} {:>7.0} {:>9.0} {:>7} {:>18}",
            b["month"].as_str().unwrap_or_default(),
            num(&b["mean"]),
            format!("{:.0}–{:.0}", num(&b["lower_95"]), num(&b["upper_95"])),
            num(&n["persons"]["mean"]),
            num(&n["homes"]["mean"]),
            num(&n["bedrooms"]["mean"]),
            n["places"],
            format!(
                "{:.0} ({:.0}–{:.0})",
                num(&s["mean"]),
                num(&s["lower_95"]),
                num(&s["upper_95"])
            ),
        );
    }
    if let Some(a) = f.get("arrivals").filter(|a| a.is_object()) {
        println!(
            "\nHouseholds arriving per month (the register's starts; model {}):",
            a["model"].as_str().unwrap_or_default()
        );
        for b in a["months"].as_array().into_iter().flatten() {
            println!(
                "{:<8} {:>7.1}   80 %: {:.1}–{:.1}   95 %: {:.1}–{:.1}",
                b["month"].as_str().unwrap_or_default(),
                num(&b["mean"]),
                num(&b["lower_80"]),
                num(&b["upper_80"]),
                num(&b["lower_95"]),
                num(&b["upper_95"])
            );
        }
    }
}
