//! Fetches the pinned front-end libraries (Leaflet, ECharts) with `npm ci` — the lockfile fixes
//! every version and digest — into OUT_DIR, and hands their built files to the crate. Nothing of
//! theirs is kept in the repository.

use std::path::{Path, PathBuf};
use std::process::Command;

const FILES: &[(&str, &str)] = &[
    ("leaflet/dist/leaflet.js", "leaflet.js"),
    ("leaflet/dist/leaflet.css", "leaflet.css"),
    ("echarts/dist/echarts.min.js", "echarts.min.js"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=assets/package.json");
    println!("cargo:rerun-if-changed=assets/package-lock.json");
    let npm_dir = out.join("npm");
    std::fs::create_dir_all(&npm_dir).unwrap();
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(manifest.join("assets").join(f), npm_dir.join(f)).unwrap();
    }
    let modules = npm_dir.join("node_modules");
    if !FILES.iter().all(|(from, _)| modules.join(from).exists()) {
        let status = Command::new("npm")
            .args([
                "ci",
                "--omit=dev",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ])
            .current_dir(&npm_dir)
            .status()
            .unwrap_or_else(|e| {
                panic!("gongzhi-web needs npm (Node.js) to fetch its front-end libraries: {e}")
            });
        assert!(status.success(), "npm ci failed in {}", npm_dir.display());
    }
    for (from, to) in FILES {
        copy(&modules.join(from), &out.join(to));
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
}
