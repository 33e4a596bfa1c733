//! Import resolution: reads the root file and every `import "x.ffidl"` (relative to
//! the importing file's folder), each file once (compared by canonical path), and
//! parses them. Owns `import-not-found` and `import-cycle`; syntax errors of every file
//! are collected here too.

use crate::ast::{self, DeclKind, Item};
use crate::diag::{DiagKind, Diagnostic};
use crate::span::{FileId, SourceMap};
use std::path::{Path, PathBuf};

/// Load and parse the root and its imports. Files come back in execution order:
/// every file after the files it imports (depth-first post-order), each once.
pub(super) fn load(
    map: &mut SourceMap,
    name: &str,
    path: Option<PathBuf>,
    text: String,
) -> (Vec<(FileId, ast::File)>, Vec<Diagnostic>) {
    let root = map.add(name, path.clone(), text);
    let mut loader = Loader {
        map,
        stack: Vec::new(),
        out: Vec::new(),
        diags: Vec::new(),
    };
    loader.visit(root, path);
    (loader.out, loader.diags)
}

struct Loader<'m> {
    map: &'m mut SourceMap,
    /// Canonical paths of the files whose imports are being followed.
    stack: Vec<PathBuf>,
    out: Vec<(FileId, ast::File)>,
    diags: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn visit(&mut self, file: FileId, canonical: Option<PathBuf>) {
        let (tree, syntax) = crate::parse::parse(&self.map.get(file).text, file);
        self.diags.extend(syntax);
        if let Some(p) = &canonical {
            self.stack.push(p.clone());
        }
        for item in &tree.items {
            let Item::Decl(decl) = item else { continue };
            let DeclKind::Import(lit) = &decl.kind else {
                continue;
            };
            let importer = self.map.get(file);
            let base_dir = importer
                .path
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            let shown_dir = Path::new(&importer.name)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let target = base_dir.join(&lit.value);
            let shown = shown_dir.join(&lit.value).display().to_string();
            let Ok(canon) = target.canonicalize() else {
                self.diags.push(
                    Diagnostic::new(
                        DiagKind::ImportNotFound,
                        lit.span,
                        format!("cannot find imported file `{}`", lit.value),
                    )
                    .with_label(format!("no file at `{shown}`")),
                );
                continue;
            };
            if self.stack.contains(&canon) {
                self.diags.push(
                    Diagnostic::new(
                        DiagKind::ImportCycle,
                        lit.span,
                        format!("import cycle: `{shown}` is already being imported"),
                    )
                    .with_label("this import leads back to a file that imports this one"),
                );
                continue;
            }
            if self.map.find_path(&canon).is_some() {
                continue; // already loaded (possibly through another spelling)
            }
            let text = match crate::read_source(&canon) {
                Ok(t) => t,
                Err(msg) => {
                    let reason = msg.rsplit(": ").next().unwrap_or("").to_string();
                    self.diags.push(
                        Diagnostic::new(
                            DiagKind::ImportNotFound,
                            lit.span,
                            format!("cannot read imported file `{}`", lit.value),
                        )
                        .with_label(reason),
                    );
                    continue;
                }
            };
            let id = self.map.add(shown, Some(canon.clone()), text);
            self.visit(id, Some(canon));
        }
        if canonical.is_some() {
            self.stack.pop();
        }
        self.out.push((file, tree));
    }
}
