//! The atomic writes: each step's failure named, groups whole or not at all, interrupted groups completed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_write_replaces_the_file_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    assert_eq!(names(dir.path()), ["report.json"]);
}

#[test]
fn each_failing_step_is_named_and_leaves_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    // No file name.
    let e = write_atomic(Path::new("/"), b"x").unwrap_err();
    assert_eq!(e.step, WriteStep::CreateTemp);
    assert_eq!(
        e.to_string(),
        "cannot create a temporary file: the path has no file name"
    );
    // A folder that does not exist.
    let e = write_atomic(&dir.path().join("no/such/folder/x"), b"x").unwrap_err();
    assert_eq!(e.step, WriteStep::CreateTemp);
    assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
    // The target is a folder: the temporary file is written, the rename fails and the
    // temporary file is removed.
    let occupied = dir.path().join("occupied");
    fs::create_dir(&occupied).unwrap();
    let e = write_atomic(&occupied, b"x").unwrap_err();
    assert_eq!(e.step, WriteStep::Rename);
    assert!(
        e.to_string()
            .starts_with("cannot rename the temporary file over it: "),
        "{e}"
    );
    assert_eq!(names(dir.path()), ["occupied"]);
    // As an io::Error: the same kind, the step in the message.
    let io: std::io::Error = e.into();
    assert!(io.to_string().contains("rename the temporary file"), "{io}");
}

#[test]
fn a_group_is_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.json"));
    write_all_atomic(&[(&a, b"1"), (&b, b"2")]).unwrap();
    assert_eq!(
        (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
        (b"1".to_vec(), b"2".to_vec())
    );
    // The third file's folder does not exist: nothing of the new group lands.
    let c = dir.path().join("missing/c.svg");
    let e = write_all_atomic(&[(&a, b"new"), (&b, b"new"), (&c, b"new")]).unwrap_err();
    assert_eq!(e.path, c);
    assert_eq!(e.error.step, WriteStep::CreateTemp);
    assert!(
        e.to_string()
            .contains("missing/c.svg: cannot create a temporary file"),
        "{e}"
    );
    assert_eq!(
        (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
        (b"1".to_vec(), b"2".to_vec())
    );
    assert_eq!(names(dir.path()), ["a.bin", "b.json"]);
    // A folder in the second file's place: refused before the first is replaced.
    fs::create_dir(dir.path().join("d")).unwrap();
    let d = dir.path().join("d");
    let e = write_all_atomic(&[(&a, b"new"), (&d, b"new")]).unwrap_err();
    assert_eq!(
        (e.path.as_path(), e.error.step),
        (d.as_path(), WriteStep::Rename)
    );
    assert_eq!(fs::read(&a).unwrap(), b"1");
    assert_eq!(names(dir.path()), ["a.bin", "b.json", "d"]);
}

#[test]
fn a_bare_file_name_writes_into_the_working_folder() {
    assert_eq!(folder_of(Path::new("x.json")), Path::new("."));
    assert_eq!(folder_of(Path::new("a/x.json")), Path::new("a"));
}

/// A pid no process has (above the kernel's limit of 2^22).
const GONE: u32 = 9_999_999;

#[test]
fn an_interrupted_group_is_completed_and_stale_temporaries_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.json"));
    write_all_atomic(&[(&a, b"old"), (&b, b"old")]).unwrap();
    // A process (gone) that renamed a.bin, then died before b.json: its journal lists both.
    let (ta, tb) = (
        dir.path().join(format!(".a.bin.{GONE}.0.tmp")),
        dir.path().join(format!(".b.json.{GONE}.1.tmp")),
    );
    fs::write(&tb, b"new").unwrap();
    fs::write(&a, b"new").unwrap();
    let pairs = [(ta.clone(), a.as_path()), (tb.clone(), b.as_path())];
    let journal = dir.path().join(format!(".ttfs-group.{GONE}.7.journal"));
    fs::write(&journal, journal::journal_text(&pairs).unwrap()).unwrap();
    // And a write of c.svg killed before its rename: its temporary file, no journal.
    let c = dir.path().join("c.svg");
    fs::write(&c, b"old").unwrap();
    fs::write(dir.path().join(format!(".c.svg.{GONE}.2.tmp")), b"half").unwrap();
    // A live process's temporary file is its own business.
    let ours = dir
        .path()
        .join(format!(".c.svg.{}.3.tmp", std::process::id()));
    fs::write(&ours, b"mine").unwrap();

    let completed = journal::complete_interrupted(dir.path());
    assert_eq!(completed, vec![std::path::absolute(&b).unwrap()]);
    assert_eq!(
        (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
        (b"new".to_vec(), b"new".to_vec())
    );
    assert!(!journal.exists());
    journal::remove_stale(&c);
    assert_eq!(fs::read(&c).unwrap(), b"old");
    assert_eq!(
        names(dir.path()),
        [
            format!(".c.svg.{}.3.tmp", std::process::id()),
            "a.bin".into(),
            "b.json".into(),
            "c.svg".into()
        ]
    );
    // The next write of c.svg cleans up only what is stale.
    write_atomic(&c, b"next").unwrap();
    assert!(ours.exists());
}

#[test]
fn a_group_leaves_no_journal_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.json"));
    write_all_atomic(&[(&a, b"1"), (&b, b"2")]).unwrap();
    assert_eq!(names(dir.path()), ["a.bin", "b.json"]);
}
