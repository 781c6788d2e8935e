//! The committed `fixtures/auth-db-outage/` is exactly what the generator writes: regenerate it
//! into a temporary folder and compare file sets and bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use retrace::scenario::reference;

/// Every file under `root`, by path relative to it (with `/` separators), with its bytes.
fn read_tree(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            files.insert(relative, bytes);
        }
    }
    Ok(files)
}

fn committed_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(reference::NAME)
}

#[test]
fn committed_fixture_matches_the_generator_byte_for_byte() -> Result<()> {
    let temp = tempfile::tempdir()?;
    reference::write(temp.path())?;
    let generated = read_tree(temp.path())?;
    let committed = read_tree(&committed_fixture())?;

    let generated_names: Vec<&String> = generated.keys().collect();
    let committed_names: Vec<&String> = committed.keys().collect();
    ensure!(
        generated_names == committed_names,
        "file sets differ: generated {generated_names:?}, committed {committed_names:?} \
         (regenerate with `retrace generate {} fixtures/{}`)",
        reference::NAME,
        reference::NAME
    );
    for (name, bytes) in &generated {
        ensure!(
            committed.get(name) == Some(bytes),
            "{name} differs from the committed fixture (regenerate with `retrace generate {} fixtures/{}`)",
            reference::NAME,
            reference::NAME
        );
    }
    Ok(())
}

#[test]
fn generating_twice_gives_the_same_bytes() -> Result<()> {
    let first = tempfile::tempdir()?;
    let second = tempfile::tempdir()?;
    reference::write(first.path())?;
    reference::write(second.path())?;
    ensure!(read_tree(first.path())? == read_tree(second.path())?);
    Ok(())
}
