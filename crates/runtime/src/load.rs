//! Loading native libraries and resolving symbols.
//!
//! Owns: the rules that turn a `library` declaration into an opened shared object (which
//! per-OS entry applies, how a path is found) and symbol look-up. Errors carry the
//! system loader's own message; the caller attaches the declaration's span.

use std::ffi::c_void;
use std::path::{Path, PathBuf};

/// What a `library` declaration names, after the front end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LibrarySpec {
    /// `library x = "name";`
    Path(String),
    /// `library x { linux = "...", macos = "...", windows = "..." }`
    PerOs(Vec<(String, String)>),
}

/// An opened shared library; closed when dropped.
pub struct Library {
    lib: libloading::Library,
    /// The path or soname that was opened, for messages.
    pub opened: String,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("opened", &self.opened)
            .finish()
    }
}

/// The OS key of the host for per-OS library entries.
pub fn host_os() -> &'static str {
    if cfg!(target_os = "windows") {
        "windows"
    } else if cfg!(target_os = "macos") {
        "macos"
    } else {
        "linux"
    }
}

/// Pick the name to open for this host, then where to look for it:
/// a name containing `/` is relative to `base_dir` (the declaring file's folder) unless
/// absolute; any other name goes to the system search path (sonames like `libc.so.6`).
pub fn resolve_name(spec: &LibrarySpec, base_dir: &Path) -> Result<String, String> {
    let name = match spec {
        LibrarySpec::Path(p) => p.clone(),
        LibrarySpec::PerOs(entries) => {
            let os = host_os();
            match entries.iter().find(|(k, _)| k == os) {
                Some((_, v)) => v.clone(),
                None => {
                    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                    return Err(format!(
                        "no library named for `{os}` (this declaration names: {})",
                        keys.join(", ")
                    ));
                }
            }
        }
    };
    if name.contains('/') && !Path::new(&name).is_absolute() {
        let joined: PathBuf = base_dir.join(&name);
        Ok(joined.to_string_lossy().into_owned())
    } else {
        Ok(name)
    }
}

impl Library {
    /// Open a library by the spec of its declaration.
    pub fn open(spec: &LibrarySpec, base_dir: &Path) -> Result<Library, String> {
        let name = resolve_name(spec, base_dir)?;
        // SAFETY: opening a shared object runs its initialisers; that is the whole point
        // of a `library` declaration and the user asked for exactly this library.
        let lib = unsafe { libloading::Library::new(&name) }.map_err(|e| {
            let text = loader_message(&e);
            // dlerror starts with the name we gave; say it once.
            let own = text.strip_prefix(&format!("{name}: ")).unwrap_or(&text);
            format!("cannot load `{name}`: {own}")
        })?;
        Ok(Library { lib, opened: name })
    }

    /// The address of `symbol`, or the loader's message.
    pub fn symbol(&self, symbol: &str) -> Result<*const c_void, String> {
        // SAFETY: we only read the symbol's address as an untyped pointer; it is called
        // later through a thunk built for its declared signature.
        let sym = unsafe { self.lib.get::<*const c_void>(symbol.as_bytes()) };
        match sym {
            Ok(s) => Ok(*s),
            Err(e) => Err(format!(
                "symbol `{symbol}` not found in `{}`: {}",
                self.opened,
                loader_message(&e)
            )),
        }
    }
}

/// The system loader's own text, without libloading's wrapper words.
fn loader_message(e: &libloading::Error) -> String {
    let s = e.to_string();
    let inner = std::error::Error::source(e).map(|s| s.to_string());
    inner.unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_libc_and_finds_strlen() {
        let lib = Library::open(&LibrarySpec::Path("libc.so.6".into()), Path::new(".")).unwrap();
        let p = lib.symbol("strlen").unwrap();
        assert!(!p.is_null());
        // SAFETY: strlen has this exact signature in libc.
        let strlen: extern "C" fn(*const u8) -> usize = unsafe { std::mem::transmute(p) };
        assert_eq!(strlen(c"hello".as_ptr().cast()), 5);
    }

    #[test]
    fn per_os_picks_host_entry() {
        let spec = LibrarySpec::PerOs(vec![
            ("macos".into(), "libSystem.B.dylib".into()),
            ("linux".into(), "libm.so.6".into()),
        ]);
        let lib = Library::open(&spec, Path::new(".")).unwrap();
        assert_eq!(lib.opened, "libm.so.6");
        assert!(lib.symbol("cos").is_ok());
    }

    #[test]
    fn missing_library_carries_loader_message() {
        let e = Library::open(
            &LibrarySpec::Path("libnope_ffidl.so".into()),
            Path::new("."),
        )
        .unwrap_err();
        assert!(e.contains("libnope_ffidl.so"), "{e}");
        assert!(
            e.contains("No such file") || e.contains("cannot open"),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_declaring_file() {
        let spec = LibrarySpec::Path("./build/libfx.so".into());
        assert_eq!(
            resolve_name(&spec, Path::new("/a/b")).unwrap(),
            "/a/b/./build/libfx.so"
        );
        let spec = LibrarySpec::Path("libz.so.1".into());
        assert_eq!(resolve_name(&spec, Path::new("/a/b")).unwrap(), "libz.so.1");
    }

    #[test]
    fn missing_symbol_is_reported() {
        let lib = Library::open(&LibrarySpec::Path("libc.so.6".into()), Path::new(".")).unwrap();
        let e = lib.symbol("no_such_symbol_ffidl").unwrap_err();
        assert!(e.contains("no_such_symbol_ffidl"), "{e}");
    }

    #[test]
    fn per_os_without_host_entry_is_an_error() {
        let spec = LibrarySpec::PerOs(vec![("plan9".into(), "x".into())]);
        assert!(resolve_name(&spec, Path::new(".")).is_err());
    }
}
