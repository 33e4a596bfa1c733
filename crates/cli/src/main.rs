//! The `ffidl` command line: argument parsing and exit statuses only.
//!
//! Everything it does is a call into `ffidl-lang` (and later the `ffidl` runtime); this
//! file only maps outcomes to output streams and exit codes.

use ffidl::Outcome;
use ffidl_lang::{check_path, diag, CheckFailure, Program, SourceMap, Target};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
ffidl: call native libraries from .ffidl binding files

usage:
  ffidl run FILE                  check, load and run FILE
  ffidl check [--target T] FILE   parse and type-check FILE and its imports
  ffidl thunk FILE FUNCTION       show the call plan and thunk code of a foreign function
  ffidl --version                 print the version
  ffidl help                      print this text

targets (data model used for C type sizes and layouts):
  sysv64   x86-64 System V, LP64 (default on x86-64 Linux)
  aarch64  AArch64 Linux, LP64
  win64    x86-64 Windows, LLP64 (c_long is 4 bytes)

exit status: 0 success, 2 when FILE cannot be read, parsed or type-checked, or its
libraries and symbols cannot be resolved (or the command line is wrong); `run`: the
code given to `exit(code)`, 1 on a runtime error or failed assert";

/// Exit status for a program that does not read, parse, type-check or resolve.
const EXIT_STATIC_ERROR: u8 = 2;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("ffidl: internal error (this is a bug in ffidl, please report it): {info}");
    }));
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The front end recurses over nested syntax; give it a generous stack so that
    // deeply nested input is rejected by its own depth limits, never by an overflow.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run(&args));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => ExitCode::from(101),
    }
}

fn run(args: &[String]) -> ExitCode {
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(EXIT_STATIC_ERROR);
    };
    match cmd.as_str() {
        "check" => cmd_check(rest),
        "run" => cmd_run(rest),
        "thunk" => cmd_thunk(rest),
        "--version" | "-V" | "version" => {
            println!("ffidl {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => usage_error(&format!("unknown command `{other}`")),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\n\n{USAGE}");
    ExitCode::from(EXIT_STATIC_ERROR)
}

/// Options shared by the commands that read a `.ffidl` file.
struct FileArgs {
    file: PathBuf,
    target: Target,
}

fn parse_file_args(args: &[String]) -> Result<FileArgs, String> {
    let mut target = Target::host();
    let mut file = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => {
                let t = it.next().ok_or("`--target` needs a value")?;
                target = match t.as_str() {
                    "sysv64" | "x86_64" => Target::SysVX64,
                    "aarch64" => Target::Aarch64Linux,
                    "win64" => Target::Win64,
                    _ => return Err(format!("unknown target `{t}` (sysv64, aarch64, win64)")),
                };
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option `{s}`")),
            s => {
                if file.replace(PathBuf::from(s)).is_some() {
                    return Err("expected exactly one FILE".into());
                }
            }
        }
    }
    let file = file.ok_or("missing FILE")?;
    Ok(FileArgs { file, target })
}

fn cmd_check(args: &[String]) -> ExitCode {
    let fa = match parse_file_args(args) {
        Ok(fa) => fa,
        Err(e) => return usage_error(&e),
    };
    let mut map = SourceMap::new();
    match checked(&mut map, &fa) {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Check `fa.file`; on failure the errors are printed and the exit code returned.
fn checked(map: &mut SourceMap, fa: &FileArgs) -> Result<Program, ExitCode> {
    match check_path(map, &fa.file, fa.target) {
        Ok(p) => Ok(p),
        Err(CheckFailure::Unreadable(msg)) => {
            eprintln!("error: {msg}");
            Err(ExitCode::from(EXIT_STATIC_ERROR))
        }
        Err(CheckFailure::Diagnostics(diags)) => {
            eprint!("{}", diag::render(map, &diags));
            let n = diags.len();
            eprintln!(
                "error: {} has {n} error{}",
                fa.file.display(),
                if n == 1 { "" } else { "s" }
            );
            Err(ExitCode::from(EXIT_STATIC_ERROR))
        }
    }
}

fn cmd_run(args: &[String]) -> ExitCode {
    let fa = match parse_file_args(args) {
        Ok(fa) => fa,
        Err(e) => return usage_error(&e),
    };
    if fa.target != Target::host() {
        return usage_error("`run` executes on this machine; `--target` is for `check` only");
    }
    let mut map = SourceMap::new();
    let program = match checked(&mut map, &fa) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut loaded = match ffidl::load(&program, &map) {
        Ok(l) => l,
        Err(diags) => {
            eprint!("{}", diag::render(&map, &diags));
            return ExitCode::from(EXIT_STATIC_ERROR);
        }
    };
    // The worker thread has a 256 MiB stack; leave a margin for everything else.
    loaded.set_stack_budget(192 << 20);
    let outcome = loaded.run(Box::new(std::io::stdout()));
    if let Outcome::Error(d) = &outcome {
        eprint!("{}", diag::render(&map, std::slice::from_ref(d)));
    }
    ExitCode::from(outcome.exit_status() as u8)
}

fn cmd_thunk(args: &[String]) -> ExitCode {
    let [file, function] = args else {
        return usage_error("usage: ffidl thunk FILE FUNCTION");
    };
    let fa = FileArgs {
        file: PathBuf::from(file),
        target: Target::host(),
    };
    let mut map = SourceMap::new();
    let program = match checked(&mut map, &fa) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match ffidl::thunk_listing(&program, function) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(EXIT_STATIC_ERROR)
        }
    }
}
