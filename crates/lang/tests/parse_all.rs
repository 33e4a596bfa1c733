//! Every `.ffidl` file under `examples/` and `tests/` parses without a diagnostic,
//! except files whose `.stderr` snapshot expects a `lex` or `syntax` error and files
//! that say so on their first line with `// expect: syntax error`.

use ffidl_lang::parse::parse;
use ffidl_lang::{diag, SourceMap};
use std::path::{Path, PathBuf};

fn collect_ffidl(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_ffidl(&path, out);
        } else if path.extension().is_some_and(|e| e == "ffidl") {
            out.push(path);
        }
    }
}

/// True when the snapshot beside `file` expects the front end to reject its syntax.
fn expects_syntax_error(file: &Path) -> bool {
    let marked = std::fs::read_to_string(file)
        .is_ok_and(|s| s.lines().next() == Some("// expect: syntax error"));
    marked
        || std::fs::read_to_string(file.with_extension("stderr"))
            .is_ok_and(|s| s.contains("[syntax]") || s.contains("[lex]"))
}

#[test]
fn every_example_and_test_program_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    collect_ffidl(&root.join("examples"), &mut files);
    collect_ffidl(&root.join("tests"), &mut files);
    files.sort();
    let mut failures = String::new();
    let mut parsed = 0;
    for file in files.iter().filter(|f| !expects_syntax_error(f)) {
        let text = std::fs::read_to_string(file).unwrap();
        let mut map = SourceMap::new();
        let id = map.add(file.display().to_string(), None, text);
        let (_, diags) = parse(&map.get(id).text, id);
        parsed += 1;
        if !diags.is_empty() {
            failures.push_str(&diag::render(&map, &diags));
        }
    }
    assert!(failures.is_empty(), "files that do not parse:\n{failures}");
    eprintln!("{parsed} files parsed cleanly");
}
