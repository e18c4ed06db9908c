use std::process::Command;

use crate::helpers::*;

fn gongzhi(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongzhi"));
    cmd.current_dir(dir).args(args);
    for k in [
        "GONGZHI_DATA_DIR",
        "GONGZHI_DATABASE_URL",
        "GONGZHI_CONFIG",
        "GONGZHI_LISTEN",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn help_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["migrate", "--help"],
        vec!["import", "divisions", "--help"],
        vec!["import", "geojson", "--help"],
        vec!["export", "geojson", "--help"],
        vec!["user", "add", "--help"],
        vec!["unit", "add", "--help"],
        vec!["audit", "verify", "--help"],
    ] {
        let out = gongzhi(dir.path(), &args, &[]);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn configuration_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gongzhi.toml"),
        "data_dir = \"from-file\"\n",
    )
    .unwrap();
    let out = gongzhi(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("from-file/gongzhi.db").exists());
    let out = gongzhi(
        dir.path(),
        &["migrate"],
        &[("GONGZHI_DATA_DIR", "from-env")],
    );
    assert!(out.status.success());
    assert!(dir.path().join("from-env/gongzhi.db").exists());
    let out = gongzhi(
        dir.path(),
        &["migrate", "--data-dir", "from-flag"],
        &[("GONGZHI_DATA_DIR", "from-env")],
    );
    assert!(out.status.success());
    assert!(dir.path().join("from-flag/gongzhi.db").exists());
    // Migrations already applied are not applied again.
    let out = gongzhi(dir.path(), &["migrate", "--data-dir", "from-flag"], &[]);
    assert!(
        text(&out.stdout).contains("applied 0"),
        "{}",
        text(&out.stdout)
    );
    // A broken configuration is a one-line error, not a panic.
    std::fs::write(dir.path().join("gongzhi.toml"), "data_dir = 5\n").unwrap();
    let out = gongzhi(dir.path(), &["migrate"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).starts_with("error:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_rejected_import_names_every_line_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "code,name,level,parent_code\n110102,西城区,district,\n1101020011,坏,street,110102\n",
    )
    .unwrap();
    let out = gongzhi(
        dir.path(),
        &[
            "import",
            "divisions",
            csv.to_str().unwrap(),
            "--data-dir",
            "d",
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    let out = gongzhi(dir.path(), &["export", "geojson", "--data-dir", "d"], &[]);
    assert!(
        text(&out.stdout).contains("\"features\":[]"),
        "{}",
        text(&out.stdout)
    );
    let out = gongzhi(
        dir.path(),
        &["import", "divisions", "missing.csv", "--data-dir", "d"],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read"));
}

#[test]
fn an_unsupported_database_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = gongzhi(dir.path(), &["migrate", "--database", "mysql://x"], &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn a_published_sortition_verifies_and_a_tampered_one_does_not() {
    use gongzhi_deliberation::sortition::{commitment, draw, list_hash};
    let dir = tempfile::tempdir().unwrap();
    let candidates: Vec<String> = (1..=30).map(|i| format!("居民{i:02}")).collect();
    let seed = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let result = draw(&candidates, seed, 5);
    let record = serde_json::json!({"candidates": candidates, "list_hash": list_hash(&candidates),
        "commitment": commitment(seed), "seed": seed, "k": 5, "result": result});
    let file = dir.path().join("draw.json");
    std::fs::write(&file, record.to_string()).unwrap();
    let out = gongzhi(
        dir.path(),
        &["sortition", "verify", file.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("the draw verifies: 5 of 30"));
    // Someone swaps a drawn resident for another: refused, non-zero exit.
    let mut tampered = record.clone();
    tampered["result"][0] =
        serde_json::json!(candidates.iter().find(|c| !result.contains(c)).unwrap());
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = gongzhi(
        dir.path(),
        &["sortition", "verify", file.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not verify"),
        "{}",
        text(&out.stderr)
    );
}
