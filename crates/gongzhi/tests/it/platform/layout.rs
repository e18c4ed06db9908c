//! The house, checked from the code itself (issue 14, docs/architecture.md): SQL only in a
//! module's store, pages inside their modules, no import loops between a crate's files, files
//! and crates in their rooms. Reads the sources; nothing runs.
//!
//! What is not yet in its room is listed below as debt, by file or loop: a new violation fails,
//! and so does a listed one that has been mended (strike it from the list), so the lists only
//! shrink. docs/architecture.md says what each entry waits for.

/// Files that still hold SQL outside a store. Every list is empty since the house was finished
/// (issue 14); one may only take an entry with a reason in docs/architecture.md.
const SQL_DEBT: &[&str] = &[];

/// Files over the size a reader takes in at once.
const SIZE_DEBT: &[&str] = &[];

/// Functions longer than a reader takes in at once (over 120 lines, from `fn` to its closing
/// brace), as `file::name`: a function that moves to another file shows up as new there.
const FN_DEBT: &[&str] = &[];

/// Import loops between files.
const LOOP_DEBT: &[&str] = &[];

/// Stores that read another module's tables, as `file: table`: each waits for a public read
/// function of the module that owns the table (docs/architecture.md).
const TABLE_DEBT: &[&str] = &[];

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
        || (krate == "gongzhi-core" && rel.starts_with("db/"))
        || krate == "gongzhi-bench"
}

const SQL: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    "CREATE TABLE",
    "ALTER TABLE",
    "sqlx::",
    " query(",
    "(query(",
];

/// One way to the database: only the core's storage (`gongzhi-core/src/db/`) names a driver;
/// the benchmarks' raw ceiling is the one other place, on purpose.
#[test]
fn only_the_core_storage_names_a_driver() {
    let mut wrong = Vec::new();
    for (krate, rel, text) in sources() {
        if (krate == "gongzhi-core" && rel.starts_with("db/")) || krate == "gongzhi-bench" {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let l = line.trim_start();
            if !l.starts_with("//") && (l.contains("sqlx::") || l.contains("rusqlite::")) {
                wrong.push(format!("{krate}/src/{rel}:{}: {}", n + 1, l));
            }
        }
    }
    for krate in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        let name = krate.file_name().to_string_lossy().to_string();
        let manifest = std::fs::read_to_string(krate.path().join("Cargo.toml")).unwrap_or_default();
        if !["gongzhi-core", "gongzhi-bench"].contains(&name.as_str())
            && (manifest.contains("sqlx") || manifest.contains("rusqlite"))
        {
            wrong.push(format!("{name}/Cargo.toml depends on a database driver"));
        }
    }
    assert!(
        wrong.is_empty(),
        "a second way to the database:\n{}",
        wrong.join("\n")
    );
}

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

/// The tables a text names after `FROM`, `JOIN`, `INTO`, `UPDATE`, `TABLE` or `EXISTS`, and
/// which of them it creates (`CREATE TABLE [IF NOT EXISTS] name`).
fn tables_named(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let (mut named, mut created) = (BTreeSet::new(), BTreeSet::new());
    for (i, w) in words.iter().enumerate() {
        if ["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "EXISTS"].contains(w) {
            if let Some(t) = words
                .get(i + 1)
                .filter(|t| t.starts_with(|c: char| c.is_ascii_lowercase()))
            {
                named.insert(t.to_string());
            }
        }
        if *w == "TABLE" && i > 0 && words[i - 1] == "CREATE" {
            let at = if words.get(i + 1) == Some(&"IF") {
                i + 4
            } else {
                i + 1
            };
            if let Some(t) = words.get(at) {
                created.insert(t.to_string());
            }
        }
    }
    (named, created)
}

/// A module's store reads and writes its own tables and the core's (areas, units, the version
/// counters, attachments: the platform's shared schema), never another module's: a later module
/// calls an earlier one's public functions.
#[test]
fn stores_keep_to_their_modules_tables() {
    let sources = sources();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (krate, _, text) in &sources {
        for t in tables_named(code_of(text)).1 {
            owner.insert(t, krate.clone());
        }
    }
    assert!(owner.contains_key("cases") && owner.contains_key("delib_events"));
    let mut wrong = Vec::new();
    for (krate, rel, text) in &sources {
        if krate == "gongzhi-core" || krate == "gongzhi-bench" || !may_hold_sql(krate, rel) {
            continue;
        }
        for t in tables_named(code_of(text)).0 {
            match owner.get(&t) {
                Some(o) if o != krate && o != "gongzhi-core" => {
                    wrong.push(format!("{krate}/src/{rel}: {t}"))
                }
                _ => {}
            }
        }
    }
    against_debt("another module's tables", &wrong, TABLE_DEBT, |v| {
        v.to_string()
    });
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

#[test]
fn functions_stay_small() {
    let mut long = Vec::new();
    for (krate, rel, text) in sources() {
        // Every function counts, those in `#[cfg(test)]` modules too.
        for (name, n) in functions(&text) {
            if n > 120 {
                long.push(format!("{krate}/src/{rel}::{name}: {n} lines"));
            }
        }
    }
    against_debt("functions over ~120 lines", &long, FN_DEBT, |v| {
        v.split(": ").next().unwrap_or("").to_string()
    });
}

/// The functions of a file with their length in lines, from the line of `fn` to the line of
/// the closing brace. A brace-matching scan over the code with comments, strings (raw ones
/// too) and character literals blanked, so a `{` in text does not count; `fn` items at any
/// depth (free, in `impl` and `trait` blocks, nested), declarations without a body skipped.
fn functions(text: &str) -> Vec<(String, usize)> {
    let code = blank_text(text);
    let b = code.as_bytes();
    let line_at = |i: usize| code[..i].matches('\n').count();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 < b.len() {
        let at_fn = b[i..].starts_with(b"fn")
            && (i == 0 || !is_ident(b[i - 1]))
            && b[i + 2].is_ascii_whitespace();
        if !at_fn {
            i += 1;
            continue;
        }
        let mut j = i + 2;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let start = j;
        while j < b.len() && is_ident(b[j]) {
            j += 1;
        }
        let name = &code[start..j];
        // The body opens at the first `{` outside the signature's brackets; a `;` first means
        // a declaration (a trait's method without a default).
        let mut depth = 0i32;
        let mut open = None;
        while j < b.len() {
            match b[j] {
                b'(' | b'[' | b'<' => depth += 1,
                b')' | b']' => depth -= 1,
                b'>' if b[j - 1] != b'-' && b[j - 1] != b'=' => depth -= 1,
                b'{' if depth <= 0 => {
                    open = Some(j);
                    break;
                }
                b';' if depth <= 0 => break,
                _ => {}
            }
            j += 1;
        }
        let Some(open) = open else {
            i = j;
            continue;
        };
        let mut level = 0;
        let mut close = open;
        for (k, c) in b.iter().enumerate().skip(open) {
            match c {
                b'{' => level += 1,
                b'}' => {
                    level -= 1;
                    if level == 0 {
                        close = k;
                        break;
                    }
                }
                _ => {}
            }
        }
        if !name.is_empty() {
            out.push((name.to_string(), line_at(close) - line_at(i) + 1));
        }
        // Go on inside the body: nested functions are counted too.
        i = open + 1;
    }
    out
}

/// The text with comments, string and character literals replaced by spaces (newlines kept).
fn blank_text(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest
                .iter()
                .position(|c| *c == b'\n')
                .map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if (rest.starts_with(b"r#") || rest.starts_with(b"r\"") || rest.starts_with(b"br"))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"…", r#"…"#, br#"…"#.
            let mut j = i + if rest[0] == b'b' { 2 } else { 1 };
            let hashes = b[j..].iter().take_while(|c| **c == b'#').count();
            j += hashes;
            if j >= b.len() || b[j] != b'"' {
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            j += 1;
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            blank(&mut out, i, j + close.len());
            i = j + close.len();
        } else if rest[0] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if rest[0] == b'\'' {
            // A character literal ('x', '\n', '\u{..}', '{'), not a lifetime ('a).
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|c| *c == b'\'').map(|n| n + 3)
            } else {
                let ch = std::str::from_utf8(&rest[1..]).ok().or_else(|| {
                    // Up to the next valid boundary.
                    (2..=5).find_map(|n| std::str::from_utf8(rest.get(1..n)?).ok())
                });
                ch.and_then(|s| s.chars().next())
                    .map(|c| 1 + c.len_utf8())
                    .filter(|n| rest.get(*n) == Some(&b'\''))
                    .map(|n| n + 1)
            };
            match len {
                Some(n) => {
                    blank(&mut out, i, i + n);
                    i += n;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
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

/// The scanner itself: what counts as a function and what is only text.
#[test]
fn the_function_scan_reads_rust() {
    let text = r##"
impl Thing {
    pub(crate) async fn inside<'a, T: Into<Vec<u8>>>(&'a self, x: T) -> Result<(), E> where T: Clone {
        let brace = '{';
        let s = "}}} fn fake() {";
        let r = r#"fn raw() { "# ;
        // fn commented() {
        /* fn block() { /* nested */ } */
        fn nested() {
        }
    }
}
trait T {
    fn declared(&self) -> u8;
    fn defaulted(&self) -> u8 { 1 }
}
fn after() {}
"##;
    let found = functions(text);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["inside", "nested", "defaulted", "after"],
        "{found:?}"
    );
    assert_eq!(found[0].1, 9, "{found:?}");
    assert_eq!((found[1].1, found[2].1, found[3].1), (2, 1, 1));
}
