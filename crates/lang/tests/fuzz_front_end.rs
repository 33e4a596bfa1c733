//! Bounded fuzzing of the front end: random bytes and mutated valid programs go through
//! `check_source`, which must return (diagnostics or a program) and never panic.
//! Deterministic (fixed seeds, a small xorshift generator), a few thousand cases.
//! The open-ended version is the cargo-fuzz target in `/fuzz`.

use ffidl_lang::lex::lex;
use ffidl_lang::{check_source, FileId, SourceMap, Target};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// The program of the core language page, plus constructs it does not show.
const CORE_PROGRAM: &str = r#"
import "sqlite.ffidl";
library libc = "libc.so.6";
library m { linux = "libm.so.6", macos = "libSystem.B.dylib", windows = "ucrtbase.dll" }
const SQLITE_OK: c_int = 0;
const N = 4;
struct Point { x: f64, y: f64 }
@packed struct Header { tag: u8, len: u32 }
@align(16) struct Vec4 { x: f32, y: f32, z: f32, w: f32 }
@layout(zig) struct Options { entries: u32, pool: *void }
union Number { i: i64, f: f64 }
enum Mode: c_int { Read = 0, Write, Append = 8 }
opaque sqlite3;
type Handle = *sqlite3;
callback Compare = fn(a: *const void, b: *const void) -> c_int;
extern libc {
    fn strlen(s: cstr) -> usize;
    fn qsort(base: *void, n: usize, size: usize, cmp: Compare);
    fn snprintf(buf: *c_char, n: usize, fmt: cstr, ...) -> c_int;
    @symbol("abs") fn c_abs(x: c_int) -> c_int;
}
let n = strlen("hello\n\t\x41\u{1F600}");
let p = Point { x: 1.5, y: 2.5 };
p.x = p.x + 1.0;
let h: *sqlite3 = null;
let buf = alloc(u8, 64);
snprintf(buf, 64, "%d-%s", 42, "x");
print(string(buf), -7, 0x2A, 0b1010, 1_000, 2.0e-3, Mode::Write, [1, 2, 3], [0; N]);
if n > 3 { print("long"); } else if n == 2 { print("two"); } else { print("short"); }
let i = 0;
while i < 3 { i += 1; }
for k in 0..4 { if k == 2 { continue; } /* nested /* comment */ */ }
fn cmp_i32(a: *const void, b: *const void) -> c_int {
    let x = (a as *const i32)[0];
    let y = *(b as *const i32);
    return (x > y) as c_int - (x < y) as c_int;
}
let arr = alloc(i32, 10);
qsort(arr as *void, 10, sizeof(i32), cmp_i32);
assert(sizeof(Point) == 16 && !false, "Point layout");
print("offset", offsetof(Point, y), "align", alignof(Vec4), ~1 << 2 | 3 ^ 4 & 5 % 6);
exit(0);
"#;

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Seeds larger than this are skipped: mutating generated files of thousands of lines
/// costs time without reaching constructs the small files lack.
const MAX_SEED_BYTES: usize = 16 * 1024;

fn seeds() -> Vec<String> {
    let mut seeds = vec![CORE_PROGRAM.to_string()];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut stack = vec![root.join("tests"), root.join("examples")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "ffidl") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    if text.len() <= MAX_SEED_BYTES {
                        seeds.push(text);
                    }
                }
            }
        }
    }
    seeds
}

/// Fragments that are likely to reach interesting parser states when spliced in.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    "..",
    "...",
    "::",
    "->",
    "@",
    "=",
    "-",
    "*",
    "&",
    "as",
    "fn",
    "let",
    "if",
    "else",
    "struct",
    "extern",
    "\"",
    "/*",
    "*/",
    "\\",
    "0x",
    "1e",
    "18446744073709551616",
    "-9223372036854775808",
    "\u{0}",
    "é",
    "\u{1F600}",
    "((((((((",
    "))))",
    "else if x {}",
    "P { a: 1 }",
    "[0; 3]",
    "sizeof(",
    "alloc(u8,",
    "@align(",
];

/// One random edit of the token list or the bytes of `src`.
fn mutate(rng: &mut Rng, src: &str) -> String {
    let (tokens, _) = lex(src, FileId(0));
    let pieces: Vec<&str> = tokens.iter().map(|(_, s)| &src[s.range()]).collect();
    let edits = 1 + rng.below(4);
    let mut out: Vec<String> = pieces.iter().map(|p| p.to_string()).collect();
    for _ in 0..edits {
        if out.is_empty() {
            out.push(FRAGMENTS[rng.below(FRAGMENTS.len())].to_string());
            continue;
        }
        let i = rng.below(out.len());
        match rng.below(6) {
            0 => {
                out.remove(i);
            }
            1 => {
                let t = out[i].clone();
                out.insert(i, t);
            }
            2 => {
                let j = rng.below(out.len());
                out.swap(i, j);
            }
            3 => out.insert(i, FRAGMENTS[rng.below(FRAGMENTS.len())].to_string()),
            4 => {
                // Drop a whole run of tokens.
                let end = (i + 1 + rng.below(8)).min(out.len());
                out.drain(i..end);
            }
            _ => {
                // Repeat one token many times (deep nesting, long chains).
                let t = out[i].clone();
                let times = 1 + rng.below(600);
                for _ in 0..times {
                    out.insert(i, t.clone());
                }
            }
        }
    }
    let mut text = out.join(" ");
    if rng.below(4) == 0 {
        // Byte-level damage, then back to text the way the CLI would see it.
        let mut bytes = text.into_bytes();
        for _ in 0..1 + rng.below(4) {
            if bytes.is_empty() {
                break;
            }
            let i = rng.below(bytes.len());
            match rng.below(3) {
                0 => {
                    bytes.remove(i);
                }
                1 => bytes.insert(i, rng.next() as u8),
                _ => bytes[i] = rng.next() as u8,
            }
        }
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

const ALPHABET: &[u8] = b" \n(){}[];,.:-+*/%&|^!~<>=@\"\\_aefilnrstux0123456789";

fn random_bytes(rng: &mut Rng) -> String {
    let len = rng.below(300);
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            // Mostly printable ASCII so the lexer gets past the first character.
            if rng.below(4) == 0 {
                rng.next() as u8
            } else {
                ALPHABET[rng.below(ALPHABET.len())]
            }
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_does_not_panic(text: &str) -> Result<(), String> {
    // On a thread with the stack `ffidl` gives the front end (the depth limits are sized
    // for it, not for a test thread's 2 MiB in a debug build).
    let owned = text.to_string();
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            catch_unwind(AssertUnwindSafe(|| {
                let mut map = SourceMap::new();
                let _ = check_source(&mut map, "<fuzz>", None, owned, Target::SysVX64);
            }))
            .is_ok()
        })
        .map_err(|e| format!("cannot start a checking thread: {e}"))?;
    match worker.join() {
        Ok(true) => Ok(()),
        _ => Err(format!("check_source panicked on input {text:?}")),
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let text = random_bytes(&mut rng);
        check_does_not_panic(&text).unwrap();
    }
}

#[test]
fn mutated_programs_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for case in 0..5000 {
        let seed = &seeds[case % seeds.len()];
        let text = mutate(&mut rng, seed);
        check_does_not_panic(&text).unwrap();
    }
}

#[test]
fn unmutated_seeds_check_without_panicking() {
    for seed in seeds() {
        check_does_not_panic(&seed).unwrap();
    }
}
