//! End-to-end tests of the `ffidl` binary: exit statuses and stream discipline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ffidl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ffidl"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ffidl")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ffidl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_missing_file_is_one_line_exit_2() {
    let o = ffidl(&["check", "no/such/file.ffidl"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("no/such/file.ffidl"), "{e}");
}

#[test]
fn check_directory_is_one_line_exit_2() {
    let o = ffidl(&["check", "examples"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("directory"), "{e}");
}

#[test]
fn check_non_utf8_is_one_line_exit_2() {
    let p = scratch("latin1.ffidl");
    std::fs::write(&p, b"const X: i32 = 1; // caf\xe9\n").unwrap();
    let o = ffidl(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("UTF-8"), "{e}");
}

#[test]
fn check_clean_file_exits_0_silently() {
    let p = scratch("clean.ffidl");
    std::fs::write(&p, "struct Point { x: f64, y: f64 }\nconst N: i32 = 4;\n").unwrap();
    let o = ffidl(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
}

#[test]
fn check_error_is_located_exit_2() {
    let p = scratch("bad.ffidl");
    std::fs::write(
        &p,
        "struct Point { x: f64, y: f64 }\nlet q: Pointt = null;\n",
    )
    .unwrap();
    let o = ffidl(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.ffidl:2:8"), "{e}");
    assert!(e.contains("Point"), "{e}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(ffidl(&[]).status.code(), Some(2));
    assert_eq!(ffidl(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(ffidl(&["check"]).status.code(), Some(2));
    assert_eq!(
        ffidl(&["check", "--target", "vax", "x.ffidl"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(ffidl(&["--version"]).status.code(), Some(0));
}

#[test]
fn every_example_checks_clean() {
    let mut n = 0;
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ffidl") {
            let o = ffidl(&["check", p.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(0), "{}: {}", p.display(), stderr(&o));
            n += 1;
        }
    }
    assert!(n > 0, "no examples found");
}

#[test]
fn readme_tour_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("```ffidl\n").expect("README has a ffidl block") + "```ffidl\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let p = scratch("readme_tour.ffidl");
    std::fs::write(&p, &readme[start..end]).unwrap();
    let o = ffidl(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("sorted: -7 0 19 42\n"), "{out}");
    assert!(
        out.contains("strlen: 5 offset of y: 8 size of Header: 5\n"),
        "{out}"
    );
}
