//! The house, checked from the code itself (issue 14, docs/architecture.md): SQL only in a
//! module's store, pages inside their modules, no import loops between a crate's files, files
//! and crates in their rooms. Reads the sources; nothing runs.
//!
//! What is not yet in its room is listed below as debt, by file or loop: a new violation fails,
//! and so does a listed one that has been mended (strike it from the list), so the lists only
//! shrink. docs/architecture.md says what each entry waits for.

/// Files that still hold SQL outside a store: the cases crate's and Open311's old layout (their
/// restructuring is on the way), and a few core files whose queries are not yet in a store.
const SQL_DEBT: &[&str] = &[
    "gongzhi-cases/src/jobs.rs",
    "gongzhi-cases/src/lib.rs",
    "gongzhi-cases/src/notify.rs",
    "gongzhi-cases/src/overview.rs",
    "gongzhi-core/src/areas/import.rs",
    "gongzhi-core/src/areas/mod.rs",
    "gongzhi-core/src/attachments.rs",
    "gongzhi-core/src/audit.rs",
    "gongzhi-core/src/http/mod.rs",
    "gongzhi-core/src/identity/signin.rs",
    "gongzhi-deliberation/src/common.rs",
    "gongzhi-open311/src/attributes.rs",
    "gongzhi-open311/src/lib.rs",
];

/// Files over the size a reader takes in at once.
const SIZE_DEBT: &[&str] = &["gongzhi-open311/src/lib.rs"];

/// Import loops between files.
const LOOP_DEBT: &[&str] = &[
    "gongzhi-cases: notify → jobs → notify",
    "gongzhi-core: http → attachments → http",
    "gongzhi-core: areas::api → http → module → areas::api",
    "gongzhi-core: module → demo → module",
    "gongzhi-core: http → module → http",
    "gongzhi-core: http → module → identity::api → http",
];

/// Fails on a violation not in `debt`, or a `debt` entry that is no longer one.
fn against_debt(what: &str, found: &[String], debt: &[&str], key: impl Fn(&str) -> String) {
    let new: Vec<&String> = found
        .iter()
        .filter(|f| !debt.contains(&key(f).as_str()))
        .collect();
    let mended: Vec<&&str> = debt
        .iter()
        .filter(|d| !found.iter().any(|f| key(f) == **d))
        .collect();
    assert!(
        new.is_empty(),
        "{what}:\n{}",
        new.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        mended.is_empty(),
        "{what}: mended, strike from the debt list: {mended:?}"
    );
}

fn file_of(violation: &str) -> String {
    violation
        .split(':')
        .next()
        .unwrap_or("")
        .replacen("/src/", "/src/", 1)
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every crate's `src` files, as (crate, path inside src, text).
fn sources() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        let krate = e.file_name().to_string_lossy().to_string();
        let src = e.path().join("src");
        if !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for f in files {
            let rel = f
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((krate.clone(), rel, std::fs::read_to_string(&f).unwrap()));
        }
    }
    out.sort();
    out
}

/// A file's code without its tests (`#[cfg(test)]` modules sit at the end by habit).
fn code_of(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// Is this a place where SQL may be written: a store (a `store/` folder or `store.rs`), or the
/// core's storage plumbing itself.
fn may_hold_sql(krate: &str, rel: &str) -> bool {
    rel.starts_with("store/")
        || rel.contains("/store/")
        || rel.ends_with("store.rs")
        || (krate == "gongzhi-core" && rel == "db.rs")
        || krate == "gongzhi-bench"
}

const SQL: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    "CREATE TABLE",
    "ALTER TABLE",
    "sqlx::query",
];

#[test]
fn sql_lives_only_in_stores() {
    let mut wrong = Vec::new();
    for (krate, rel, text) in sources() {
        if may_hold_sql(&krate, &rel) {
            continue;
        }
        for (n, line) in code_of(&text).lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            if SQL.iter().any(|k| l.contains(k)) {
                wrong.push(format!("{krate}/src/{rel}:{}: {}", n + 1, l));
            }
        }
    }
    against_debt("SQL outside a store", &wrong, SQL_DEBT, file_of);
}

#[test]
fn pages_live_in_their_modules() {
    let web = crates_dir().join("gongzhi-web/Cargo.toml");
    let manifest = std::fs::read_to_string(web).unwrap();
    for module in ["gongzhi-cases", "gongzhi-deliberation", "gongzhi-open311"] {
        assert!(
            !manifest.contains(module),
            "the page shell must not depend on {module}: a module's pages live in the module"
        );
    }
    for module in ["gongzhi-cases", "gongzhi-deliberation"] {
        assert!(
            crates_dir().join(module).join("src/pages").is_dir(),
            "{module} keeps its pages in src/pages"
        );
    }
}

#[test]
fn the_binary_is_thin() {
    let mut files = Vec::new();
    rust_files(&crates_dir().join("gongzhi/src"), &mut files);
    let lines: usize = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
        .sum();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("bench") || n.contains("demo")),
        "bench and demo live in their own crates and modules, not the binary: {names:?}"
    );
    assert!(
        lines < 1500,
        "the binary holds the CLI and wiring only, yet has {lines} lines"
    );
}

#[test]
fn files_stay_small() {
    let mut big = Vec::new();
    for (krate, rel, text) in sources() {
        let n = code_of(&text).lines().count();
        if n > 900 {
            big.push(format!("{krate}/src/{rel}: {n} lines"));
        }
    }
    against_debt("files over ~800 lines of code", &big, SIZE_DEBT, file_of);
}

/// The paths a file names through `crate::` and `super::` (with `use` groups expanded), as
/// module paths from the crate root. `module` is the file's own path (`areas::api`).
fn paths_named(text: &str, module: &[String]) -> Vec<Vec<String>> {
    fn ident(s: &[u8], i: &mut usize) -> String {
        let start = *i;
        while *i < s.len() && (s[*i].is_ascii_alphanumeric() || s[*i] == b'_') {
            *i += 1;
        }
        String::from_utf8_lossy(&s[start..*i]).to_string()
    }
    fn skip_ws(s: &[u8], i: &mut usize) {
        while *i < s.len() && s[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    /// Reads `a::b::{c, d::e}` from `i`, pushing every full path.
    fn path(s: &[u8], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut p = prefix;
        loop {
            skip_ws(s, i);
            if *i < s.len() && s[*i] == b'{' {
                *i += 1;
                loop {
                    skip_ws(s, i);
                    if *i >= s.len() || s[*i] == b'}' {
                        *i += 1;
                        return;
                    }
                    path(s, i, p.clone(), out);
                    skip_ws(s, i);
                    if *i < s.len() && s[*i] == b',' {
                        *i += 1;
                    }
                }
            }
            let id = ident(s, i);
            if id.is_empty() {
                out.push(p);
                return;
            }
            p.push(id);
            if s[*i..].starts_with(b"::") {
                *i += 2;
            } else {
                // Skip an `as alias` or anything else up to the item's end.
                while *i < s.len() && !b",};".contains(&s[*i]) {
                    *i += 1;
                }
                out.push(p);
                return;
            }
        }
    }
    let code = code_of(text).as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let boundary = i == 0
            || !(code[i - 1].is_ascii_alphanumeric() || code[i - 1] == b'_' || code[i - 1] == b'$');
        if boundary && rest.starts_with(b"crate::") {
            i += 7;
            path(code, &mut i, vec![], &mut out);
        } else if boundary && rest.starts_with(b"super::") {
            let mut base = module.to_vec();
            while code[i..].starts_with(b"super::") {
                base.pop();
                i += 7;
            }
            path(code, &mut i, base, &mut out);
        } else {
            i += 1;
        }
    }
    out
}

/// No loops between the files of a crate: the graph of `crate::…` and `super::…` references
/// from one file to another is acyclic (a parent declaring or re-exporting its children is not
/// an edge). `lib.rs` is the manifest and may name anything.
#[test]
fn no_import_loops_inside_a_crate() {
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut files: BTreeMap<String, Vec<(Vec<String>, String)>> = BTreeMap::new();
    for (krate, rel, text) in sources() {
        let module: Vec<String> = rel
            .trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .split('/')
            .map(String::from)
            .collect();
        if module == ["lib"] || module == ["main"] {
            continue;
        }
        files.entry(krate).or_default().push((module, text));
    }
    for (krate, list) in &files {
        let known: BTreeSet<Vec<String>> = list.iter().map(|(m, _)| m.clone()).collect();
        let g = graphs.entry(krate.clone()).or_default();
        for (module, text) in list {
            let deps = g.entry(module.join("::")).or_default();
            for p in paths_named(text, module) {
                // The longest prefix that is a file of the crate.
                let target = (1..=p.len())
                    .rev()
                    .map(|n| p[..n].to_vec())
                    .find(|c| known.contains(c));
                if let Some(t) = target {
                    if &t != module && !t.starts_with(module) {
                        deps.insert(t.join("::"));
                    }
                }
            }
        }
    }
    let mut loops = Vec::new();
    for (krate, g) in &graphs {
        // Depth-first search for a back edge.
        fn visit(
            n: &str,
            g: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
            loops: &mut Vec<String>,
        ) {
            if let Some(i) = path.iter().position(|p| p == n) {
                loops.push(path[i..].join(" → ") + " → " + n);
                return;
            }
            if !done.insert(n.to_string()) {
                return;
            }
            path.push(n.to_string());
            for d in g.get(n).into_iter().flatten() {
                if g.contains_key(d) {
                    visit(d, g, path, done, loops);
                }
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        let mut found = Vec::new();
        for n in g.keys() {
            visit(n, g, &mut Vec::new(), &mut done, &mut found);
        }
        loops.extend(found.into_iter().map(|l| format!("{krate}: {l}")));
    }
    against_debt("import loops", &loops, LOOP_DEBT, |l| l.to_string());
}
