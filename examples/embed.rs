//! Embedding ffidl in a Rust program: load `.ffidl` bindings (examples/embed.ffidl) and
//! call libc, libm and zlib through them, with no C compiler, no glue code and no
//! `unsafe` around the calls.
//!
//! It shows, in order: load errors and their kinds, dynamic calls with `Value`s, typed
//! handles (and the check that guards them), structs by value (by field name and as
//! `repr_c!` types), a Rust closure as qsort's comparison function, one module used from
//! several threads, and the script part of the file run from Rust.
//!
//! Run with `cargo run -p ffidl --example embed [path/to/embed.ffidl]`; the expected
//! output is examples/embed.rs.stdout (crates/runtime/tests/examples_embed.rs checks it).

use std::ffi::c_void;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ffidl::{ErrorKind, RunStatus, Runtime, Value};

ffidl::repr_c! {
    /// C's `div_t`, as `struct DivResult` declares it.
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct DivResult { quot: i32, rem: i32 }

    /// C's `struct in_addr`, as `struct InAddr` declares it.
    #[derive(Clone, Copy, Debug)]
    struct InAddr { s_addr: u32 }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // `Display` is the whole diagnostic, rendered as `ffidl check` shows it.
            eprintln!("error ({}):\n{err}", err.kind().name());
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<u8, ffidl::Error> {
    let runtime = Runtime::new();

    // ---- Loading, and what a failed load says.
    let missing = runtime.load_str(
        "missing.ffidl",
        "library gone = \"libffidl-example-missing.so.1\";\nextern gone { fn nothing(); }",
    );
    match missing {
        // Match on the kind; the location points into the `.ffidl` source.
        Err(err) if err.kind() == ErrorKind::LibraryNotFound => {
            let line = err.location().map_or(0, |l| l.line);
            println!("load failed: {} at line {line}", err.kind().name());
        }
        Err(err) => return Err(err),
        Ok(_) => println!("the missing library was found after all"),
    }
    let typo = runtime.load_str("typo.ffidl", "let n: i32 = strlen(\"x\");");
    if let Err(err) = typo {
        println!("load failed: {}: {}", err.kind().name(), err.message());
    }

    let path = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/embed.ffidl"),
        PathBuf::from,
    );
    let module = runtime.load_file(&path)?;
    let names: Vec<&str> = module.function_names().collect();
    println!("loaded {} functions: {}", names.len(), names.join(", "));

    // ---- Dynamic calls: `Value`s in, a `Value` out, checked against the declaration.
    let strlen = module.function("strlen")?;
    println!(
        "strlen(\"hello, ffidl\") = {:?}",
        strlen.call(&["hello, ffidl".into()])?
    );
    let hypot = module.call("hypot", &[3.0.into(), 4.0.into()])?;
    println!("hypot(3, 4) = {}", hypot.as_f64().unwrap_or_default());
    // An integer value converts to any integer parameter whose range holds it (here an
    // i32 0 for a c_ulong); a pointer to Rust memory is a `Value::Ptr`.
    let bytes = b"hello";
    let crc = module.call(
        "crc32",
        &[
            0.into(),
            Value::Ptr(bytes.as_ptr().cast_mut().cast::<c_void>()),
            (bytes.len() as u32).into(),
        ],
    )?;
    println!(
        "crc32(\"hello\") = {:#010x}",
        crc.as_i64().unwrap_or_default()
    );
    // A value of the wrong kind is an error, and nothing is called.
    if let Err(err) = strlen.call(&[42.into()]) {
        println!("{}: {}", err.kind().name(), err.message());
    }

    // ---- Typed handles: a plain Rust fn pointer, after checking the signature.
    let cos = module.typed::<extern "C" fn(f64) -> f64>("cos")?;
    println!("cos(0) = {}", cos.call((0.0,)));
    if let Err(err) = module.typed::<extern "C" fn(f32) -> f32>("cos") {
        let line = err.location().map_or(0, |l| l.line);
        println!("{} (line {line}): {}", err.kind().name(), err.message());
    }

    // ---- Structs by value: a repr_c! type through a typed handle...
    let div = module.typed::<extern "C" fn(i32, i32) -> DivResult>("div")?;
    println!("div(17, 5) = {:?}", div.call((17, 5)));
    // ... and by field name through a dynamic call.
    let result = module.call("div", &[(-17).into(), 5.into()])?;
    let result = result.as_struct().expect("div returns a struct");
    println!(
        "div(-17, 5): quot {:?}, rem {:?}",
        result.get("quot")?,
        result.get("rem")?
    );
    let htonl = module.typed::<extern "C" fn(u32) -> u32>("htonl")?;
    let home = module.struct_value(&InAddr {
        s_addr: htonl.call((0x7F00_0001,)),
    })?;
    let text = module.call("inet_ntoa", &[home.into()])?;
    println!(
        "inet_ntoa(127.0.0.1) = {:?}",
        text.as_cstr().unwrap_or_default()
    );
    let mut broadcast = module.new_struct("InAddr")?;
    broadcast.set("s_addr", u32::MAX)?;
    let text = module.call("inet_ntoa", &[broadcast.into()])?;
    println!(
        "inet_ntoa(all ones) = {:?}",
        text.as_cstr().unwrap_or_default()
    );

    // ---- A Rust closure as a C callback: qsort's comparison function. The closure may
    // capture state (it must be Send + Sync + 'static); the `Callback` must outlive
    // every call C makes through its pointer.
    let comparisons = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&comparisons);
    let compare = module.callback("Compare", move |a: *const i32, b: *const i32| {
        counter.fetch_add(1, Ordering::Relaxed);
        // SAFETY: qsort passes pointers to two elements of the array being sorted.
        let (a, b) = unsafe { (*a, *b) };
        a.cmp(&b) as i32
    })?;
    let mut numbers = [42, -7, 19, 0, 3, 11];
    let qsort = module.typed::<extern "C" fn(*mut i32, usize, usize, *mut c_void)>("qsort")?;
    qsort.call((numbers.as_mut_ptr(), numbers.len(), 4, compare.as_ptr()));
    println!(
        "qsort with a Rust closure: {numbers:?} (closure called: {})",
        comparisons.load(Ordering::Relaxed) > 0
    );
    // The same callback, passed to a dynamic call as a `Value`.
    let mut more = [3i32, 1, 2];
    module.call(
        "qsort",
        &[
            Value::Ptr(more.as_mut_ptr().cast()),
            Value::U64(more.len() as u64),
            Value::U64(4),
            (&compare).into(),
        ],
    )?;
    println!("qsort through a dynamic call: {more:?}");

    // ---- Threads: a module is Send + Sync; handles borrow it.
    let crc32 = module.typed::<extern "C" fn(u64, *const u8, u32) -> u64>("crc32")?;
    let sums: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = ["alpha", "beta", "gamma"]
            .iter()
            .map(|word| s.spawn(move || crc32.call((0, word.as_ptr(), word.len() as u32))))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    println!("crc32 on three threads: {sums:x?}");

    // ---- The script part of the file, as `ffidl run` would run it.
    println!("running the script part:");
    let status = module.run(std::io::stdout())?;
    println!("script finished: {status:?}");
    Ok(match status {
        RunStatus::Finished => 0,
        RunStatus::Exit(code) => code as u8,
    })
}
