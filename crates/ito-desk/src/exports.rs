//! Files the app writes for the user (exports): written whole or not at all, and a
//! file of the same name in a folder is never replaced. An export the app never
//! finished (killed, power cut) leaves only a hidden temporary file, which a later
//! export to that folder removes once it is an hour old.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// Where an export goes.
#[derive(Clone, Debug)]
pub enum ExportTarget {
    /// A file the user chose; the save dialog has already asked before replacing it.
    File(PathBuf),
    /// A folder (Downloads): the file is named `name`, or `name (2)`, `name (3)`… when
    /// that is taken.
    Folder { dir: PathBuf, name: String },
}

/// How far the numbered names go before giving up on a crowded folder.
const MAX_SUFFIX: u32 = 1000;
/// The temporary files' prefix: hidden, and found again by [`sweep`].
const TEMP_PREFIX: &str = ".export-";
/// A temporary file this old is left from an export the app did not finish (it was
/// killed or lost power): exports take seconds, so no running one is that old.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Writes what `fill` produces to `target` through a temporary file beside it, synced
/// before it takes its final name, so a failure midway leaves no half-written export.
/// Returns the final path and what `fill` returned.
pub fn write<T>(
    target: &ExportTarget,
    fill: impl FnOnce(&mut BufWriter<&std::fs::File>) -> Result<T>,
) -> Result<(PathBuf, T)> {
    let dir = match target {
        ExportTarget::File(path) => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned(),
        ExportTarget::Folder { dir, .. } => {
            std::fs::create_dir_all(dir).map_err(|e| file_error("create", dir, &e))?;
            dir.clone()
        }
    };
    sweep(&dir);
    let temp = NamedTempFile::with_prefix_in(TEMP_PREFIX, &dir)
        .map_err(|e| file_error("write in", &dir, &e))?;
    let value = {
        let mut out = BufWriter::new(temp.as_file());
        let value = fill(&mut out)?;
        out.flush()
            .map_err(|e| file_error("write", temp.path(), &e))?;
        value
    };
    temp.as_file()
        .sync_all()
        .map_err(|e| file_error("write", temp.path(), &e))?;
    let path = match target {
        ExportTarget::File(path) => {
            temp.persist(path)
                .map_err(|e| file_error("save", path, &e.error))?;
            path.clone()
        }
        ExportTarget::Folder { dir, name } => persist_new(temp, dir, name)?,
    };
    Ok((path, value))
}

/// Gives `temp` the first free name among `name`, `name (2)`, … in `dir`.
fn persist_new(mut temp: NamedTempFile, dir: &Path, name: &str) -> Result<PathBuf> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    for n in 1..=MAX_SUFFIX {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match temp.persist_noclobber(&candidate) {
            Ok(_) => return Ok(candidate),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => temp = e.file,
            Err(e) => return Err(file_error("save", &candidate, &e.error)),
        }
    }
    Err(Error::File(format!(
        "{} already holds {MAX_SUFFIX} files named like {name}; choose another folder",
        dir.display()
    )))
}

/// Removes the temporary files of exports that never finished from `dir` (a kill
/// leaves them in the user's Downloads). Best effort: what cannot be read or removed
/// stays for the next export to try.
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_TEMP));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn file_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::File(format!("cannot {what} {}: {e}", path.display()))
}

/// CSV cells: text typed by customers must not become a spreadsheet formula when opened.
pub fn inert(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

/// One CSV record, quoted where needed, ended by CRLF.
pub fn write_record(
    out: &mut impl Write,
    fields: impl Iterator<Item = String>,
) -> std::io::Result<()> {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        if f.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", f.replace('"', "\"\""))?;
        } else {
            out.write_all(f.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    fn put(text: &str) -> impl FnOnce(&mut BufWriter<&std::fs::File>) -> Result<()> {
        move |out| {
            out.write_all(text.as_bytes())
                .map_err(|e| Error::File(e.to_string()))
        }
    }

    #[test]
    fn csv_quotes_and_neutralises() {
        let mut out = Vec::new();
        write_record(
            &mut out,
            [
                "a,b".to_owned(),
                "say \"hi\"".to_owned(),
                inert("=1+1".into()),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",'=1+1\r\n"
        );
    }

    #[test]
    fn temporary_files_of_unfinished_exports_are_swept_once_stale() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".export-killed");
        let fresh = dir.path().join(".export-running");
        let mine = dir.path().join(".exported-by-the-user");
        for path in [&old, &fresh, &mine] {
            std::fs::write(path, "half").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - 2 * STALE_TEMP;
        for path in [&old, &mine] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        let target = ExportTarget::Folder {
            dir: dir.path().to_owned(),
            name: "payments.csv".into(),
        };
        write(&target, put("whole")).unwrap();
        assert!(!old.exists(), "a stale temporary file stays");
        assert!(fresh.exists() && mine.exists());
    }

    #[test]
    fn a_folder_export_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = ExportTarget::Folder {
            dir: dir.path().join("Downloads"),
            name: "payments-20261124.csv".into(),
        };
        let names: Vec<String> = (0..3)
            .map(|i| {
                let (path, ()) = write(&target, put(&format!("run {i}"))).unwrap();
                assert_eq!(text(&path), format!("run {i}"));
                path.file_name().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "payments-20261124.csv",
                "payments-20261124 (2).csv",
                "payments-20261124 (3).csv"
            ]
        );
        // Only the three exports: no temporary file left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("Downloads"))
                .unwrap()
                .count(),
            3
        );
    }

    #[test]
    fn a_failed_export_leaves_the_chosen_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.csv");
        std::fs::write(&path, "before").unwrap();
        let target = ExportTarget::File(path.clone());
        let failed = write(&target, |out| {
            put("half")(out)?;
            Err::<(), _>(Error::Storage("the disk is gone".into()))
        });
        assert!(failed.is_err());
        assert_eq!(text(&path), "before");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let (written, ()) = write(&target, put("after")).unwrap();
        assert_eq!((written, text(&path).as_str()), (path.clone(), "after"));
    }

    #[test]
    fn an_unwritable_place_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let target = ExportTarget::Folder {
            dir: blocker.join("sub"),
            name: "x.csv".into(),
        };
        let e = write(&target, |_| Ok(())).unwrap_err();
        assert!(
            matches!(&e, Error::File(m) if m.contains("cannot create")),
            "{e}"
        );
    }
}
