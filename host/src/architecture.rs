//! ARCHITECTURE.md's import tables held to the source: every module of the
//! host, of the component and of the test crates has one row, and the row
//! names exactly the modules its code (tests included) refers to. An import
//! that crosses a layer therefore fails here until the table says so, and
//! the table cannot drift from the code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name to the names its row lists.
type Table = BTreeMap<String, BTreeSet<String>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the host lies in the workspace").to_path_buf()
}

/// The rows of the table under `heading`: the backticked names of the first
/// column each list the backticked names of the second.
fn table(architecture: &str, heading: &str) -> Table {
    let section = architecture.split(heading).nth(1).unwrap_or_else(|| panic!("ARCHITECTURE.md has no {heading:?}"));
    let mut rows = Table::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 || cells[1] == "module" || cells[1].starts_with("---") {
            continue;
        }
        let imports = backticked(cells[2]);
        for module in backticked(cells[1]) {
            assert!(rows.insert(module.clone(), imports.clone()).is_none(), "{module} has two rows under {heading:?}");
        }
    }
    rows
}

/// The backticked names of a cell, outside parentheses (which explain).
fn backticked(cell: &str) -> BTreeSet<String> {
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The top-level modules under `src` with their files: `name.rs`, or every
/// file of the folder `name/`.
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        if path.is_dir() {
            modules.insert(name, rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            modules.insert(name, vec![path]);
        }
    }
    modules
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The names code in `files` reaches through `prefix` (`crate`,
/// `otlp_capture`), in paths and in `use prefix::{a, b::c}` groups; comments
/// (doc links included) do not count.
fn referred(files: &[PathBuf], prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let head = format!("{prefix}::");
    for file in files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            let mut rest = code;
            while let Some(at) = rest.find(&head) {
                let boundary = rest[..at].chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '_');
                rest = &rest[at + head.len()..];
                if !boundary {
                    continue;
                }
                if let Some(group) = rest.strip_prefix('{') {
                    let group = group.split('}').next().unwrap_or_default();
                    names.extend(group.split(',').filter_map(|part| first_segment(part.trim())));
                } else {
                    names.extend(first_segment(rest));
                }
            }
        }
    }
    names
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty() && name != "self").then_some(name)
}

/// Compares each module's references (to names in `known`) with its row.
fn check(
    rows: &Table,
    sources: &BTreeMap<String, Vec<PathBuf>>,
    prefix: &str,
    known: &BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (module, files) in sources {
        let found: BTreeSet<String> =
            referred(files, prefix).into_iter().filter(|n| n != module && known.contains(n)).collect();
        match rows.get(module) {
            None => problems.push(format!("`{module}` has no row; it imports {found:?}")),
            Some(listed) if *listed != found => {
                problems.push(format!("`{module}`: the table lists {listed:?}, the code imports {found:?}"))
            }
            Some(_) => {}
        }
    }
    problems
        .extend(rows.keys().filter(|m| !sources.contains_key(*m)).map(|m| format!("`{m}` has a row but no source")));
    problems
}

#[test]
fn the_import_tables_of_architecture_md_are_the_imports() {
    let root = root();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");

    let host = modules(&root.join("host/src"));
    let host_names: BTreeSet<String> = host.keys().cloned().collect();
    let mut problems = check(&table(&architecture, "## What imports what"), &host, "crate", &host_names);

    let guest = modules(&root.join("guest/src"));
    let guest_names: BTreeSet<String> = guest.keys().cloned().collect();
    problems.extend(check(&table(&architecture, "### The component's modules"), &guest, "crate", &guest_names));

    let tests: BTreeMap<String, Vec<PathBuf>> = ["tests/support", "tests/component", "tests/e2e"]
        .into_iter()
        .map(|dir| (dir.to_owned(), rust_files(&root.join(dir))))
        .collect();
    problems.extend(check(&table(&architecture, "### Test code"), &tests, "otlp_capture", &host_names));

    assert!(problems.is_empty(), "ARCHITECTURE.md and the code disagree:\n{}", problems.join("\n"));
}

#[test]
fn references_are_read_from_paths_and_groups_but_not_comments() {
    let file = std::env::temp_dir().join(format!("otlp-capture-architecture-{}.rs", std::process::id()));
    std::fs::write(
        &file,
        "use crate::{alpha, beta::Gamma};\nlet x = crate::delta::f();\n/// [`crate::epsilon`]\nmy_crate::zeta;\n",
    )
    .unwrap();
    let names = referred(std::slice::from_ref(&file), "crate");
    std::fs::remove_file(&file).unwrap();
    assert_eq!(names, ["alpha", "beta", "delta"].map(str::to_owned).into());
}
