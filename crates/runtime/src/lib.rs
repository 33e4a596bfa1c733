//! The ffidl runtime: loads `.ffidl` bindings, calls the native functions they declare
//! and runs scripts. This is the crate to embed: the `ffidl` command is a thin layer on
//! top of it.
//!
//! ```
//! let module = ffidl::Runtime::new().load_str(
//!     "libc.ffidl",
//!     r#"library c = "libc.so.6";
//!        extern c { fn strlen(s: cstr) -> usize; }"#,
//! )?;
//! // Dynamic call by name, with values checked against the declaration.
//! assert_eq!(module.call("strlen", &["hello".into()])?, ffidl::Value::U64(5));
//! // Typed handle: the declared signature is checked against the Rust type once,
//! // then every call is a direct native call.
//! let strlen = module.typed::<extern "C" fn(*const std::ffi::c_char) -> usize>("strlen")?;
//! assert_eq!(strlen.call((c"four".as_ptr(),)), 4);
//! # Ok::<(), ffidl::Error>(())
//! ```
//!
//! See [`Runtime`], [`Module`], [`Function`], [`TypedFn`], [`Callback`], [`Value`],
//! [`StructValue`], [`repr_c!`] and [`Error`]; `docs/embedding.md` walks through them.
//!
//! Inside: [`load()`] takes a checked [`Program`] (from `ffidl_lang`), opens every library
//! and resolves every foreign symbol before anything runs (errors are diagnostics at the
//! declarations), lowers each foreign signature to an ABI plan (module `lower`), gets one
//! call entry per plan from the selected [`Backend`] (module `backend`: a Cranelift thunk
//! shared by every plan-equal function, or the assembly [`fallback`]), and compiles the
//! program into closures (module `interp`); a script function used as a `callback` value
//! gets one callback entry per (function, callback type) while compiling.
//! [`Loaded::run`] then executes the top-level statements.
//!
//! [`capi`] exposes the embedding API to C: `libffidl.so` with `include/ffidl.h`
//! (the C part of `docs/embedding.md` walks through it).

#![warn(missing_docs)]

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;

pub(crate) mod backend;
pub mod capi;
mod embed;
pub mod fallback;
pub(crate) mod interp;
pub(crate) mod load;
pub(crate) mod lower;
pub(crate) mod memory;

pub use embed::{
    Aggregate, CFn, CReturn, CType, Callback, Error, ErrorKind, FnAbi, Function, IntoCallback,
    Location, Module, RunStatus, Runtime, Shape, StructValue, TypedFn, Value,
};

use backend::CallEntries;
pub use fallback::Backend;
use ffidl_jit::{classify, ThunkCache};
use ffidl_lang::diag::{DiagKind, Diagnostic};
use ffidl_lang::span::SourceMap;
use ffidl_lang::tir::{LibrarySource, Program};
use interp::callback::CallbackEnv;
use interp::compile::{frame_layout, CompiledProgram, Compiler, ForeignLink};
use interp::{run_block, Ctx, TrapKind};
use memory::{Block, StringArena};
use std::io::Write;
use std::path::Path;

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The last top-level statement finished.
    Finished,
    /// `exit(code)` was called.
    Exit(i32),
    /// A runtime error or failed assert.
    Error(Diagnostic),
}

impl Outcome {
    /// The process exit status `ffidl run` uses for this outcome.
    pub fn exit_status(&self) -> i32 {
        match self {
            Outcome::Finished => 0,
            Outcome::Exit(code) => *code,
            Outcome::Error(_) => 1,
        }
    }
}

/// A program with its libraries loaded, symbols resolved, thunks built and code
/// compiled, ready to run.
pub struct Loaded {
    /// Native stack that nested script calls may use (see [`Loaded::set_stack_budget`]).
    stack_budget: usize,
    // Field order is drop order: the compiled closures go first, then the memory they
    // point into, then the thunk code, then the libraries the targets live in.
    script: std::sync::Mutex<Script>,
    /// Per foreign function (indexed like `Program::foreign_fns`): its address and the
    /// call entry of its plan (none for variadic functions: each call site has its own).
    pub(crate) foreign: Vec<ForeignLink>,
    pub(crate) entries: std::sync::Mutex<CallEntries>,
    _libraries: Vec<Option<load::Library>>,
}

// SAFETY: the raw pointers a `Loaded` holds are the addresses of functions in the
// libraries it keeps open and of thunk code it owns, neither mutated after loading; the
// script and the call entries (whose thunk cache and trampolines are mutated when a
// callback is made) are behind mutexes; libraries are `Send + Sync`.
unsafe impl Send for Loaded {}
// SAFETY: as above: all mutation goes through the mutexes.
unsafe impl Sync for Loaded {}

/// The compiled top-level code and the memory it points into; only run under
/// [`Loaded::script`]'s lock.
struct Script {
    compiled: CompiledProgram,
    _callback_env: Box<CallbackEnv>,
    globals: Block,
    _literals: StringArena,
}

// SAFETY: the closures of a compiled program point only into memory this value owns
// (globals, literals, the callback environment, the function table behind its `Rc`s,
// all of whose clones live inside `compiled`) or into the thunk code and libraries the
// `Loaded` that holds it keeps alive; moving all of it to another thread together is
// sound. It is only ever run with the `Mutex` held (callbacks entered from other threads
// use their own per-thread state, as for a program run by `ffidl run`).
unsafe impl Send for Script {}

/// Load and compile a checked program with the backend `FFIDL_BACKEND` names (Cranelift
/// when unset; see [`load_with`]). `map` locates the declaring files (library paths
/// containing `/` are relative to the file that declares them).
pub fn load(program: &Program, map: &SourceMap) -> Result<Loaded, Vec<Diagnostic>> {
    match Backend::from_env() {
        Ok(backend) => load_with(program, map, backend),
        Err(msg) => Err(vec![Diagnostic::new(
            DiagKind::AbiUnsupported,
            first_foreign_span(program),
            msg,
        )]),
    }
}

fn first_foreign_span(program: &Program) -> ffidl_lang::span::Span {
    program
        .foreign_fns
        .first()
        .map(|f| f.span)
        .unwrap_or_default()
}

/// Load and compile a checked program; every foreign call goes through `backend`
/// (Cranelift switches to [`Backend::Asm`] by itself when executable memory cannot be
/// mapped: [`Loaded::backend`] tells which one runs).
pub fn load_with(
    program: &Program,
    map: &SourceMap,
    backend: Backend,
) -> Result<Loaded, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut libraries = Vec::with_capacity(program.libraries.len());
    for lib in &program.libraries {
        let spec = match &lib.source {
            LibrarySource::Path(p) => load::LibrarySpec::Path(p.clone()),
            LibrarySource::PerOs(entries) => load::LibrarySpec::PerOs(entries.clone()),
        };
        let base = map
            .get(lib.span.file)
            .path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ".".into());
        match load::Library::open(&spec, &base) {
            Ok(l) => libraries.push(Some(l)),
            Err(msg) => {
                diags.push(
                    Diagnostic::new(DiagKind::LibraryNotFound, lib.span, msg)
                        .with_label("this library cannot be loaded"),
                );
                libraries.push(None);
            }
        }
    }
    let mut entries = match CallEntries::new(backend) {
        Ok(c) => c,
        Err(e) => {
            let span = first_foreign_span(program);
            diags.push(Diagnostic::new(
                DiagKind::AbiUnsupported,
                span,
                e.to_string(),
            ));
            return Err(diags);
        }
    };
    let mut links = Vec::with_capacity(program.foreign_fns.len());
    for f in &program.foreign_fns {
        let mut link = ForeignLink {
            target: std::ptr::null(),
            thunk: None,
        };
        if let Some(Some(lib)) = libraries.get(f.library.0 as usize) {
            match lib.symbol(&f.symbol) {
                Ok(p) => link.target = p,
                Err(msg) => diags.push(
                    Diagnostic::new(DiagKind::SymbolNotFound, f.span, msg)
                        .with_label("this symbol cannot be found"),
                ),
            }
        }
        if !f.sig.variadic {
            let plan = lower::jit_signature(program, &f.sig, &[])
                .and_then(|s| classify(&s).map_err(|e| e.to_string()));
            match plan.and_then(|p| entries.entry(&p)) {
                Ok(t) => link.thunk = Some(t),
                Err(msg) => diags.push(Diagnostic::new(DiagKind::AbiUnsupported, f.span, msg)),
            }
        }
        links.push(link);
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let (global_offsets, globals_size, globals_align) =
        frame_layout(program, program.globals.iter().map(|g| g.ty));
    // Over-allocate so that the globals' base can honour any `@align`.
    let globals = usize::try_from(globals_size + globals_align)
        .ok()
        .and_then(Block::try_zeroed);
    let Some(mut globals) = globals else {
        let biggest = program.globals.iter().max_by_key(|g| program.ty(g.ty).size);
        let span = biggest.map(|g| g.span).unwrap_or_default();
        return Err(vec![Diagnostic::new(
            DiagKind::Runtime,
            span,
            format!("out of memory: the global variables need {globals_size} bytes"),
        )]);
    };
    let globals_base = interp::align_up(globals.ptr() as usize, globals_align as usize) as *mut u8;
    let mut literals = StringArena::default();
    let callback_env = Box::new(CallbackEnv { map: map.clone() });
    let mut compiler = Compiler::new(
        program,
        &links,
        &mut entries,
        &mut literals,
        globals_base,
        global_offsets,
    );
    compiler.callback_env = &*callback_env;
    let compiled = compiler.compile_program().map_err(|d| vec![d])?;
    Ok(Loaded {
        stack_budget: interp::DEFAULT_NATIVE_STACK_BUDGET,
        script: std::sync::Mutex::new(Script {
            compiled,
            _callback_env: callback_env,
            globals,
            _literals: literals,
        }),
        foreign: links,
        entries: std::sync::Mutex::new(entries),
        _libraries: libraries,
    })
}

impl Loaded {
    /// The backend the foreign calls go through.
    pub fn backend(&self) -> Backend {
        lock(&self.entries).backend()
    }

    /// How many bytes of the calling thread's stack nested script calls may use before
    /// "stack overflow" (default 1 MiB, safe on any thread; raise it when running on a
    /// thread with a bigger stack, as the `ffidl` command does).
    pub fn set_stack_budget(&mut self, bytes: usize) {
        self.stack_budget = bytes;
    }

    /// How many callback thunks script functions have (one per distinct pair of script
    /// function and callback type the program uses; made while loading, never at run time).
    pub fn callback_thunk_count(&self) -> usize {
        lock(&self.script).compiled.callbacks.len()
    }

    /// Run the top-level statements, printing to `out` (flushed before every foreign
    /// call, so output interleaves with C's unbuffered writes, and at the end).
    pub fn run(&mut self, out: Box<dyn Write>) -> Outcome {
        self.run_shared(out)
    }

    /// [`Loaded::run`] through a shared reference: runs wait for each other.
    pub(crate) fn run_shared(&self, out: Box<dyn Write>) -> Outcome {
        let mut script = lock(&self.script);
        script.globals.clear();
        let compiled = &script.compiled;
        let mut ctx = Ctx::new(out);
        ctx.set_native_stack_budget(self.stack_budget);
        let outcome = match ctx.alloc_temp(
            compiled.main_frame_size,
            compiled.main_frame_align,
            Default::default(),
        ) {
            Ok(frame) => {
                ctx.fp = frame;
                match run_block(&compiled.main, &mut ctx) {
                    Ok(_) => Outcome::Finished,
                    Err(trap) => match *trap {
                        TrapKind::Exit(code) => Outcome::Exit(code),
                        TrapKind::Error(d) => Outcome::Error(d),
                    },
                }
            }
            Err(_) => Outcome::Error(Diagnostic::new(
                DiagKind::Runtime,
                Default::default(),
                "the top-level frame does not fit the value stack",
            )),
        };
        ctx.flush();
        outcome
    }
}

/// Locks `mutex`, ignoring poisoning: nothing this crate does under its locks can leave
/// the data inconsistent if it panics.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What `ffidl thunk` shows for the foreign function `name`: its call plan, the thunk's
/// CLIF, machine instructions and bytes. Needs no library (nothing is called).
pub fn thunk_listing(program: &Program, name: &str) -> Result<String, String> {
    let f = program
        .foreign_fns
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| format!("no foreign function named `{name}`"))?;
    let sig = lower::jit_signature(program, &f.sig, &[])?;
    let plan = classify(&sig).map_err(|e| e.to_string())?;
    let mut cache = ThunkCache::new().map_err(|e| e.to_string())?;
    let compiled = cache.compiled(&plan).map_err(|e| e.to_string())?;
    let params: Vec<String> = f
        .sig
        .params
        .iter()
        .zip(&f.param_names)
        .map(|(t, n)| format!("{n}: {}", program.type_name(*t)))
        .collect();
    let variadic = if f.sig.variadic { ", ..." } else { "" };
    let mut out = format!(
        "; fn {}({}{variadic}) -> {} (symbol `{}`)\n",
        f.name,
        params.join(", "),
        program.type_name(f.sig.ret),
        f.symbol
    );
    out.push_str(&compiled.listing(&plan));
    Ok(out)
}
