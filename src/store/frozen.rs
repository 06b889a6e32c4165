//! Landed migrations are frozen (issue 12 §5): `migrations/{sqlite,postgres}.sums` list the
//! SHA-384 of every migration on `main`, and these tests fail when a listed file changes or
//! disappears, or when a file is not listed.
//!
//! SHA-384 of the file's text because that is exactly the checksum sqlx stores in
//! `_sqlx_migrations.checksum` and compares on every start: a changed digest here is the
//! upgrade sqlx would refuse ("previously applied but has been modified"), and an operator
//! can compare the list with a live database. `sha384sum -c` checks the files by hand.

use sha2::{Digest, Sha384};
use std::{collections::BTreeMap, path::Path};

const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest sqlx records for a migration file's text.
fn digest(text: &str) -> String {
    hex(&Sha384::digest(text.as_bytes()))
}

fn version_of(name: &str) -> i64 {
    name.split('_')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("migration {name} does not start with its number"))
}

/// `name → digest` as listed in `migrations/{backend}.sums` (`#` lines are comments).
fn listed(root: &Path, backend: &str) -> Result<BTreeMap<String, String>, String> {
    let path = root.join(format!("migrations/{backend}.sums"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let Some((sum, name)) = line.split_once("  ") else {
            return Err(format!(
                "migrations/{backend}.sums: `{line}` is not `<sha384>  <file>`"
            ));
        };
        if out.insert(name.to_string(), sum.to_string()).is_some() {
            return Err(format!("migrations/{backend}.sums lists {name} twice"));
        }
    }
    Ok(out)
}

/// `name → digest` of the `.sql` files in `migrations/{backend}/`.
fn on_disk(root: &Path, backend: &str) -> BTreeMap<String, String> {
    let dir = root.join(format!("migrations/{backend}"));
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "sql") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("migration text");
            out.insert(name, digest(&text));
        }
    }
    out
}

/// What is wrong with one backend's migrations against its list; empty when all is well.
fn problems(
    backend: &str,
    listed: &BTreeMap<String, String>,
    disk: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, sum) in listed {
        match disk.get(name) {
            None => out.push(format!(
                "migrations/{backend}/{name} is listed in migrations/{backend}.sums but gone. \
                 Landed migrations are never removed or renamed: restore it."
            )),
            Some(now) if now != sum => out.push(format!(
                "migrations/{backend}/{name} changed after it landed (listed {sum}, now {now}). \
                 Landed migrations are never edited (sqlx refuses every database that applied \
                 the old text): restore it (`git checkout main -- migrations/{backend}/{name}`) \
                 and put the change in a new migration. Never change its line in the list."
            )),
            Some(_) => {}
        }
    }
    for (name, sum) in disk {
        if !listed.contains_key(name) {
            out.push(format!(
                "migrations/{backend}/{name} is not listed: adding a migration means adding its \
                 line to migrations/{backend}.sums. Add this line:\n{sum}  {name}"
            ));
        }
    }
    out
}

#[test]
fn landed_migrations_are_unchanged_and_every_migration_is_listed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    let mut versions = Vec::new();
    for backend in BACKENDS {
        let listed = match listed(root, backend) {
            Ok(l) => l,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        failures.extend(problems(backend, &listed, &on_disk(root, backend)));
        versions.push(listed.keys().map(|n| version_of(n)).collect::<Vec<_>>());
    }
    if let [sqlite, postgres] = versions.as_slice()
        && sqlite != postgres
    {
        failures.push(format!(
            "the backends list different migrations (sqlite {sqlite:?}, postgres {postgres:?}): \
             each change is one migration in both folders"
        ));
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
}

/// The digests listed are the ones sqlx embedded and will store (so the choice of digest
/// above stays true if sqlx changes its own).
#[test]
fn listed_digests_are_what_sqlx_stores() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (backend, migrator) in [
        ("sqlite", &super::SQLITE_MIGRATIONS),
        ("postgres", &super::POSTGRES_MIGRATIONS),
    ] {
        let listed = listed(root, backend).expect("the list parses");
        for m in migrator.iter() {
            let listed_sum = listed
                .iter()
                .find(|(name, _)| version_of(name) == m.version)
                .map(|(_, sum)| sum.as_str());
            assert_eq!(
                listed_sum,
                Some(hex(&m.checksum).as_str()),
                "{backend} migration {} ({})",
                m.version,
                m.description
            );
        }
    }
}

#[test]
fn each_kind_of_drift_is_named_with_what_to_do() {
    let list = |entries: &[(&str, &str)]| -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect()
    };
    let listed = list(&[("0001_a.sql", "aa"), ("0002_b.sql", "bb")]);
    assert!(problems("sqlite", &listed, &listed).is_empty());
    let edited = problems(
        "sqlite",
        &listed,
        &list(&[("0001_a.sql", "aa"), ("0002_b.sql", "cc")]),
    );
    assert!(edited[0].contains("never edited"), "{edited:?}");
    let gone = problems("sqlite", &listed, &list(&[("0001_a.sql", "aa")]));
    assert!(gone[0].contains("gone"), "{gone:?}");
    let mut more = listed.clone();
    more.insert("0003_c.sql".into(), "dd".into());
    let unlisted = problems("sqlite", &listed, &more);
    assert!(
        unlisted[0].ends_with("Add this line:\ndd  0003_c.sql"),
        "{unlisted:?}"
    );
}
