//! The outsider's attack on the releases and what serves them (tests/disclosure/attack.py,
//! run with the virtual environment's Python and HiGHS).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Env, venv_tool};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The attacker's folder of a municipality (`env`, its demo files in `demo`): every release,
/// the population, and, for judging only, the true values behind each release and the
/// register's size and household mix.
pub fn work(env: &Env, demo: &Path) -> PathBuf {
    let work = env.path("attack");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("releases")).unwrap();
    for e in std::fs::read_dir(env.path("published")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('v') {
            copy_dir(&e.path(), &work.join("releases").join(&name));
        }
    }
    std::fs::copy(demo.join("population.csv"), work.join("population.csv")).unwrap();
    let c = env.query();
    c.execute_batch(&format!(
        "COPY (SELECT * FROM disclosure_cells ORDER BY version, kind, area, period) TO '{}' (HEADER)",
        work.join("oracle.csv").display()
    ))
    .unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM placements", [], |r| r.get(0))
        .unwrap();
    let mut stmt = c
        .prepare("SELECT household_size, count(*) FROM placements GROUP BY 1 ORDER BY 1")
        .unwrap();
    let mix: Vec<(i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    std::fs::write(
        work.join("register.json"),
        serde_json::json!({"rows": rows, "mix": mix}).to_string(),
    )
    .unwrap();
    work
}

/// Runs the attacker on `folder`, given as `what` (`--work`: a municipality's folder made by
/// [`work`]; `--region`: a region's), with `extra` options; its exit code and JSON report.
pub fn attack(what: &str, folder: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(venv_tool("python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disclosure/attack.py"))
        .arg(what)
        .arg(folder)
        .args(extra)
        .output()
        .expect("the attacker runs (make test installs it in .venv)");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{}", &report[..report.len().min(3000)]);
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), report)
}
