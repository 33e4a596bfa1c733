//! Robustness of `ffidl run`: programs from `tests/run` that call no C code are
//! mutated (integer literals replaced by edge values, operators swapped) and run
//! through the binary. Whatever a mutant does, the runtime must end it with a
//! diagnostic or a normal status: never a Rust panic, never a signal. Mutants that
//! loop forever are stopped after a deadline and count as fine.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const EDGE_INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "7",
    "255",
    "-129",
    "4096",
    "2147483648",
];
const OPERATOR_SWAPS: &[(&str, &[&str])] = &[
    (" + ", &[" - ", " * ", " / ", " % "]),
    (" - ", &[" + ", " / ", " % "]),
    (" * ", &[" / ", " % ", " + "]),
    (" < ", &[" <= ", " > ", " != "]),
];

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let prev_ident = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if c.is_ascii_digit() && !prev_ident {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            let literal = &src[start..i];
            if !literal.contains('.') && rng.next() % 3 == 0 {
                out.push_str(rng.pick(EDGE_INTS));
            } else {
                out.push_str(literal);
            }
            continue;
        }
        if let Some((from, to)) = OPERATOR_SWAPS
            .iter()
            .find(|(from, _)| src[i..].starts_with(from))
        {
            if rng.next() % 4 == 0 {
                out.push_str(rng.pick(to));
            } else {
                out.push_str(from);
            }
            i += from.len();
            continue;
        }
        out.push(c as char);
        i += 1;
    }
    out
}

#[test]
fn mutated_programs_end_with_a_status_not_a_crash() {
    let sources = [
        "arithmetic",
        "control_flow",
        "values_and_places",
        "print_formats",
    ];
    let dir = std::env::temp_dir().join(format!("ffidl-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ran = 0;
    let mut timed_out = 0;
    let mut by_status = std::collections::BTreeMap::new();
    for name in sources {
        let src = std::fs::read_to_string(root().join(format!("tests/run/{name}.ffidl"))).unwrap();
        for round in 0..20 {
            let mutant = mutate(&mut rng, &src);
            let path = dir.join(format!("{name}_{round}.ffidl"));
            std::fs::write(&path, &mutant).unwrap();
            let mut child = Command::new(env!("CARGO_BIN_EXE_ffidl"))
                .arg("run")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(2);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status);
                }
                if Instant::now() > deadline {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            let Some(status) = status else {
                timed_out += 1;
                continue;
            };
            ran += 1;
            *by_status.entry(status.code()).or_insert(0) += 1;
            assert!(
                status.code().is_some(),
                "{} was killed by a signal ({status:?}):\n{mutant}",
                path.display()
            );
            assert!(
                !stderr.contains("internal error") && !stderr.contains("panicked"),
                "{} panicked:\n{stderr}\n{mutant}",
                path.display()
            );
        }
    }
    eprintln!("mutants by exit status: {by_status:?}, stopped after the deadline: {timed_out}");
    assert!(ran > 40, "too few mutants finished ({ran})");
    assert!(
        by_status.get(&Some(1)).copied().unwrap_or(0) > 0,
        "no mutant reached a runtime error: {by_status:?}"
    );
}
