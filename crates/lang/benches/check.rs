//! Front-end benchmark: generates a realistic 20,000-line binding file (1,000 structs
//! and unions, 5,000 extern functions, enums, callbacks, constants and some script
//! code) and times `check_source` on it: median and minimum wall time over several runs.
//!
//! `cargo bench -p ffidl-lang --bench check` prints e.g.
//! `check 20000-line file: median 41.2 ms (min 39.8 ms)`. The generated file is written
//! to the target tmp dir (its path is printed) or to `FFIDL_BENCH_WRITE=<path>`, so
//! `ffidl check <path>` can be timed on the same input. `FFIDL_BENCH_RUNS=<n>` sets the
//! number of runs (default 20). Without `--bench` (as `cargo test --benches` runs it) it
//! checks the file once, as a smoke test.
//!
//! Owns only this benchmark; no external crates (no criterion).

use ffidl_lang::{check_source, diag, lex, parse, FileId, SourceMap, Target};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Lines in the generated file (padded with constants to exactly this many).
const TARGET_LINES: usize = 20_000;
const STRUCTS: usize = 1_000;
const FUNCTIONS: usize = 5_000;
const FUNCTIONS_PER_EXTERN_BLOCK: usize = 100;
const ENUMS: usize = 150;
const CALLBACKS: usize = 200;
const OPAQUES: usize = 100;
const SCRIPT_FNS: usize = 150;
const SEED: u64 = 0x00b1_7d1e_5eed_0001;
const DEFAULT_RUNS: usize = 20;

const MODULES: &[&str] = &[
    "gfx", "net", "db", "audio", "ui", "fs", "crypto", "input", "phys", "text",
];
const NOUNS: &[&str] = &[
    "Buffer", "Image", "Desc", "Info", "State", "Config", "Event", "Header", "Entry", "Range",
    "Rect", "Span", "Stats", "Node", "Params", "Request", "Reply", "Key", "Frame", "Layout",
];
const VERBS: &[&str] = &[
    "create", "destroy", "get", "set", "begin", "end", "open", "close", "read", "write", "query",
    "update", "bind", "map", "unmap", "submit", "reset", "find", "copy", "flush",
];
const FIELD_NAMES: &[&str] = &[
    "id",
    "flags",
    "width",
    "height",
    "x",
    "y",
    "count",
    "size",
    "data",
    "next",
    "user_data",
    "kind",
    "offset",
    "stride",
    "capacity",
    "len",
    "name",
    "handle",
    "on_done",
    "format",
    "mode",
    "state",
    "scale",
    "origin",
    "extent",
    "level",
    "mask",
    "tag",
    "color",
    "depth",
];
const PARAM_NAMES: &[&str] = &[
    "ctx", "dst", "src", "n", "len", "flags", "out", "user", "mode", "size", "value", "index",
    "name", "cb", "info", "desc",
];
const INT_TYPES: &[&str] = &[
    "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize", "c_int", "c_uint",
    "c_long", "c_ulong", "size_t", "ssize_t", "c_short", "c_uchar", "c_char",
];

/// splitmix64: a small seedable generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// `n` distinct names from `items` (n <= items.len()).
    fn distinct<'a>(&mut self, items: &[&'a str], n: usize) -> Vec<&'a str> {
        let mut pool = items.to_vec();
        (0..n)
            .map(|_| {
                let i = self.below(pool.len());
                pool.swap_remove(i)
            })
            .collect()
    }
}

/// What kind of value a type holds: decides how script code produces one.
#[derive(Clone, Debug)]
enum Kind {
    Int,
    Float,
    Bool,
    Ptr,
    Cstr,
    /// An enum, with a variant path to use as a value.
    Enum(String),
    /// A struct or union by value (its name).
    Aggregate(String),
    Callback,
    Array,
}

#[derive(Clone, Debug)]
struct Ty {
    text: String,
    kind: Kind,
}

fn ty(text: impl Into<String>, kind: Kind) -> Ty {
    Ty {
        text: text.into(),
        kind,
    }
}

struct Generator {
    rng: Rng,
    out: String,
    lines: usize,
    struct_names: Vec<String>,
    /// Fields of every struct generated so far (the ones usable by value).
    struct_fields: Vec<Vec<(String, Ty)>>,
    /// A rough size of every struct generated so far, to keep nesting small.
    struct_sizes: Vec<u64>,
    enum_names: Vec<(String, String)>,
    callback_names: Vec<String>,
    /// Extern functions: name, parameter types, return type (None = void).
    functions: Vec<(String, Vec<Ty>, Option<Ty>)>,
}

impl Generator {
    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
        self.lines += 1;
    }

    fn scalar(&mut self) -> Ty {
        match self.rng.below(10) {
            0 => ty(self.rng.pick(&["f32", "f64"]), Kind::Float),
            1 => ty("bool", Kind::Bool),
            _ => ty(self.rng.pick(INT_TYPES), Kind::Int),
        }
    }

    /// A pointer type: to any struct (also ones declared later), a handle, bytes or void.
    fn pointer(&mut self) -> Ty {
        let text = match self.rng.below(6) {
            0 => "*void".to_string(),
            1 => "*const u8".to_string(),
            2 => format!("HandleRef{}", self.rng.below(OPAQUES)),
            3 => format!("*Handle{}", self.rng.below(OPAQUES)),
            4 => format!("*const {}", self.struct_names[self.rng.below(STRUCTS)]),
            _ => format!("*{}", self.struct_names[self.rng.below(STRUCTS)]),
        };
        ty(text, Kind::Ptr)
    }

    /// A field type; `index` is the struct being generated (earlier ones nest by value).
    fn field_type(&mut self, index: usize) -> Ty {
        match self.rng.below(100) {
            0..=44 => self.scalar(),
            45..=59 => self.pointer(),
            60..=64 => ty("cstr", Kind::Cstr),
            65..=71 => {
                let (name, variant) = self.enum_names[self.rng.below(ENUMS)].clone();
                ty(name, Kind::Enum(variant))
            }
            72..=75 => {
                let name = self.callback_names[self.rng.below(CALLBACKS)].clone();
                ty(name, Kind::Callback)
            }
            76..=85 => {
                let elem = self.scalar();
                let len = [2, 3, 4, 8, 16, 32][self.rng.below(6)];
                ty(format!("[{}; {len}]", elem.text), Kind::Array)
            }
            _ if index > 0 => {
                // Nest one of the recent small structs by value (sometimes as an array).
                let j = index - 1 - self.rng.below(index.min(40));
                if self.struct_sizes[j] > 256 {
                    return self.scalar();
                }
                let name = self.struct_names[j].clone();
                if self.rng.chance(25) {
                    ty(format!("[{name}; 2]"), Kind::Array)
                } else {
                    ty(name.clone(), Kind::Aggregate(name))
                }
            }
            _ => self.scalar(),
        }
    }

    /// A parameter or return type (no arrays; structs by value sometimes).
    fn param_type(&mut self) -> Ty {
        match self.rng.below(100) {
            0..=44 => self.scalar(),
            45..=79 => self.pointer(),
            80..=86 => ty("cstr", Kind::Cstr),
            87..=91 => {
                let (name, variant) = self.enum_names[self.rng.below(ENUMS)].clone();
                ty(name, Kind::Enum(variant))
            }
            92..=94 => {
                let name = self.callback_names[self.rng.below(CALLBACKS)].clone();
                ty(name, Kind::Callback)
            }
            _ => {
                let name = self.struct_names[self.rng.below(STRUCTS)].clone();
                ty(name.clone(), Kind::Aggregate(name))
            }
        }
    }

    fn header(&mut self) {
        self.line("// app.ffidl: bindings for libapp (a generated benchmark input).");
        self.line("// Every name below is made up; the shapes follow real C APIs.");
        self.line("library app = \"libapp.so.3\";");
        self.line(
            "library aux { linux = \"libaux.so.1\", macos = \"libaux.dylib\", windows = \"aux.dll\" }",
        );
        self.line("");
    }

    fn names(&mut self) {
        for i in 0..STRUCTS {
            let module = MODULES[i % MODULES.len()];
            let mut caps = module.to_string();
            caps[..1].make_ascii_uppercase();
            let noun = NOUNS[self.rng.below(NOUNS.len())];
            self.struct_names.push(format!("{caps}{noun}{i}"));
        }
        for i in 0..ENUMS {
            let module = MODULES[i % MODULES.len()];
            let mut caps = module.to_string();
            caps[..1].make_ascii_uppercase();
            let name = format!("{caps}Mode{i}");
            self.enum_names.push((name.clone(), format!("{name}::V0")));
        }
        for i in 0..CALLBACKS {
            self.callback_names
                .push(format!("{}Callback{i}", MODULES[i % MODULES.len()]));
        }
    }

    fn opaques(&mut self) {
        self.line("// Handles.");
        for i in 0..OPAQUES {
            self.line(&format!("opaque Handle{i};"));
            self.line(&format!("type HandleRef{i} = *Handle{i};"));
        }
        self.line("");
    }

    fn enums(&mut self) {
        self.line("// Enumerations.");
        for i in 0..ENUMS {
            let name = self.enum_names[i].0.clone();
            let repr = match self.rng.below(4) {
                0 => "",
                1 => ": u8",
                2 => ": u32",
                _ => ": c_int",
            };
            self.line(&format!("enum {name}{repr} {{"));
            let variants = 3 + self.rng.below(6);
            let mut value = 0;
            for v in 0..variants {
                if self.rng.chance(30) {
                    value += 1 + self.rng.below(10);
                    self.line(&format!("    V{v} = {value},"));
                } else {
                    self.line(&format!("    V{v},"));
                }
                value += 1;
            }
            self.line("}");
        }
        self.line("");
    }

    fn callbacks(&mut self) {
        self.line("// Callback types.");
        for i in 0..CALLBACKS {
            let count = 1 + self.rng.below(4);
            let names = self.rng.distinct(PARAM_NAMES, count);
            let params: Vec<String> = names
                .iter()
                .map(|n| {
                    let t = self.scalar_or_pointer();
                    format!("{n}: {}", t.text)
                })
                .collect();
            let ret = match self.rng.below(3) {
                0 => String::new(),
                _ => format!(" -> {}", self.scalar().text),
            };
            let name = self.callback_names[i].clone();
            self.line(&format!(
                "callback {name} = fn({}){ret};",
                params.join(", ")
            ));
        }
        self.line("");
    }

    /// Roughly how many bytes a field type takes (8 per scalar), for limiting nesting.
    fn rough_size(&self, t: &Ty) -> u64 {
        let text = t.text.as_str();
        if let Some(inner) = text.strip_prefix('[') {
            let (elem, len) = inner
                .trim_end_matches(']')
                .rsplit_once("; ")
                .unwrap_or((inner, "1"));
            let len: u64 = len.parse().unwrap_or(1);
            return len * self.rough_size(&ty(elem, Kind::Int));
        }
        match self.struct_names.iter().position(|n| n == text) {
            Some(j) if j < self.struct_sizes.len() => self.struct_sizes[j],
            _ => 8,
        }
    }

    fn scalar_or_pointer(&mut self) -> Ty {
        if self.rng.chance(50) {
            self.scalar()
        } else {
            self.pointer()
        }
    }

    fn structs(&mut self) {
        self.line("// Structures.");
        for i in 0..STRUCTS {
            let name = self.struct_names[i].clone();
            let union = self.rng.chance(8);
            let mut attrs = String::new();
            if !union && self.rng.chance(8) {
                attrs.push_str("@packed ");
            }
            if self.rng.chance(5) {
                attrs.push_str("@align(16) ");
            } else if !union && attrs.is_empty() && self.rng.chance(4) {
                attrs.push_str("@layout(zig) ");
            }
            let count = 2 + self.rng.below(10);
            let names = self.rng.distinct(FIELD_NAMES, count);
            let mut fields = Vec::new();
            for n in names {
                let t = self.field_type(i);
                fields.push((n.to_string(), t));
            }
            if self.rng.chance(30) {
                self.line(&format!("/// {name}: one {} record.", MODULES[i % 10]));
            }
            let kw = if union { "union" } else { "struct" };
            self.line(&format!("{attrs}{kw} {name} {{"));
            for (n, t) in &fields {
                self.line(&format!("    {n}: {},", t.text));
            }
            self.line("}");
            let size = fields.iter().map(|(_, t)| self.rough_size(t)).sum();
            self.struct_sizes.push(size);
            self.struct_fields.push(fields);
        }
        self.line("");
    }

    fn externs(&mut self) {
        let mut made = 0;
        let mut block = 0;
        while made < FUNCTIONS {
            let lib = if block % 5 == 4 { "aux" } else { "app" };
            self.line(&format!("extern {lib} {{"));
            for _ in 0..FUNCTIONS_PER_EXTERN_BLOCK.min(FUNCTIONS - made) {
                let module = MODULES[made % MODULES.len()];
                let verb = self.rng.pick(VERBS);
                let noun = self.rng.pick(NOUNS).to_ascii_lowercase();
                let name = format!("{module}_{verb}_{noun}_{made}");
                let count = self.rng.below(7);
                let names = self.rng.distinct(PARAM_NAMES, count);
                let params: Vec<Ty> = (0..count).map(|_| self.param_type()).collect();
                let ret = if self.rng.chance(30) {
                    None
                } else {
                    Some(self.param_type())
                };
                let variadic = count > 0 && self.rng.chance(2);
                let mut list: Vec<String> = names
                    .iter()
                    .zip(&params)
                    .map(|(n, t)| format!("{n}: {}", t.text))
                    .collect();
                if variadic {
                    list.push("...".to_string());
                }
                let ret_text = ret
                    .as_ref()
                    .map(|t| format!(" -> {}", t.text))
                    .unwrap_or_default();
                let attr = if self.rng.chance(3) {
                    format!("@symbol(\"{module}{verb}_v{made}\") ")
                } else {
                    String::new()
                };
                self.line(&format!(
                    "    {attr}fn {name}({}){ret_text};",
                    list.join(", ")
                ));
                self.functions.push((name, params, ret));
                made += 1;
            }
            self.line("}");
            block += 1;
        }
        self.line("");
    }

    /// An expression of the given type (for arguments), with any `let` it needs
    /// written first into `pre`.
    fn value_of(&mut self, t: &Ty, pre: &mut Vec<String>, locals: &mut usize) -> String {
        match &t.kind {
            Kind::Int => format!("{}", self.rng.below(100)),
            Kind::Float => "1.5".to_string(),
            Kind::Bool => "true".to_string(),
            Kind::Ptr | Kind::Callback => "null".to_string(),
            Kind::Cstr => "\"name\"".to_string(),
            Kind::Enum(variant) => variant.clone(),
            Kind::Aggregate(name) => {
                let local = format!("s{locals}");
                *locals += 1;
                pre.push(format!("    let {local}: {name};"));
                local
            }
            Kind::Array => unreachable!("no array parameters are generated"),
        }
    }

    fn script(&mut self) {
        self.line("// Script code using the bindings.");
        for i in 0..SCRIPT_FNS {
            self.line(&format!("fn work{i}(n: i32, scale: f64) -> f64 {{"));
            self.line("    let acc: f64 = 0.0;");
            self.line("    for k in 0..n {");
            self.line("        acc = acc + (k as f64) * scale;");
            self.line("    }");
            // A struct local with some fields written.
            let s = self.rng.below(STRUCTS);
            let name = self.struct_names[s].clone();
            self.line(&format!("    let rec: {name};"));
            let fields = self.struct_fields[s].clone();
            for (field, t) in fields.iter().take(3) {
                match t.kind {
                    Kind::Int => self.line(&format!("    rec.{field} = 3;")),
                    Kind::Float => self.line(&format!("    rec.{field} = 2.5;")),
                    Kind::Bool => self.line(&format!("    rec.{field} = false;")),
                    _ => {}
                }
            }
            let mut locals = 0;
            for _ in 0..3 {
                let f = self.rng.below(FUNCTIONS);
                let (fname, params, ret) = self.functions[f].clone();
                let mut pre = Vec::new();
                let args: Vec<String> = params
                    .iter()
                    .map(|p| self.value_of(p, &mut pre, &mut locals))
                    .collect();
                for p in pre {
                    self.line(&p);
                }
                let call = format!("{fname}({})", args.join(", "));
                if ret.is_some() {
                    self.line(&format!("    let r{locals} = {call};"));
                    locals += 1;
                } else {
                    self.line(&format!("    {call};"));
                }
            }
            self.line("    if acc > 10.0 {");
            self.line("        acc = acc / 2.0;");
            self.line("    } else {");
            self.line("        acc = acc + 1.0;");
            self.line("    }");
            self.line("    return acc;");
            self.line("}");
        }
        self.line("let total: f64 = 0.0;");
        for i in 0..SCRIPT_FNS {
            self.line(&format!("total = total + work{i}({}, 0.5);", i % 7));
        }
        self.line("print(\"total\", total);");
    }

    /// Constants (flags, sizes, offsets) until the file has exactly `TARGET_LINES` lines.
    fn constants(&mut self) {
        self.line("// Constants.");
        let mut i = 0;
        while self.lines < TARGET_LINES {
            let module = MODULES[i % MODULES.len()].to_ascii_uppercase();
            let s = self.rng.below(STRUCTS);
            let text = match i % 4 {
                0 => format!("const {module}_FLAG_{i}: u32 = 0x{:x};", 1u32 << (i % 32)),
                1 => format!(
                    "const {module}_SIZE_{i}: usize = sizeof({}) * 2;",
                    self.struct_names[s]
                ),
                2 => format!(
                    "const {module}_OFFSET_{i}: usize = offsetof({}, {});",
                    self.struct_names[s], self.struct_fields[s][0].0
                ),
                _ => {
                    let flag_module = MODULES[(i - 3) % MODULES.len()].to_ascii_uppercase();
                    format!(
                        "const {module}_LIMIT_{i} = {} + {flag_module}_FLAG_{} as i64;",
                        i * 3,
                        i - 3
                    )
                }
            };
            self.line(&text);
            i += 1;
        }
    }
}

fn generate() -> String {
    let mut g = Generator {
        rng: Rng(SEED),
        out: String::new(),
        lines: 0,
        struct_names: Vec::new(),
        struct_fields: Vec::new(),
        struct_sizes: Vec::new(),
        enum_names: Vec::new(),
        callback_names: Vec::new(),
        functions: Vec::new(),
    };
    g.names();
    g.header();
    g.opaques();
    g.enums();
    g.callbacks();
    g.structs();
    g.externs();
    g.script();
    assert!(
        g.lines < TARGET_LINES,
        "generated {} lines before constants; lower the counts",
        g.lines
    );
    g.constants();
    g.out
}

fn output_path() -> PathBuf {
    match std::env::var_os("FFIDL_BENCH_WRITE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check_20000_lines.ffidl"),
    }
}

/// One timed `check_source`; exits with the diagnostics if the file does not check.
fn check_once(text: &str, path: &str) -> Duration {
    let text = text.to_string();
    let mut map = SourceMap::new();
    let start = Instant::now();
    let result = check_source(&mut map, path, None, text, Target::SysVX64);
    let elapsed = start.elapsed();
    if let Err(diags) = result {
        let shown: Vec<_> = diags.iter().take(10).cloned().collect();
        eprintln!(
            "the generated file {path} does not check ({} diagnostics), first ones:\n{}",
            diags.len(),
            diag::render(&map, &shown)
        );
        std::process::exit(1);
    }
    elapsed
}

/// CPU time consumed by all threads of this process so far (Linux only).
#[cfg(target_os = "linux")]
fn process_cpu_time() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on 64-bit Linux),
    // and clock_gettime only writes into it.
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(target_os = "linux"))]
fn process_cpu_time() -> Option<Duration> {
    None
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let text = generate();
    let lines = text.lines().count();
    let path = output_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, &text) {
        Ok(()) => println!("wrote {} ({lines} lines)", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
    let shown = path.display().to_string();
    let benchmarking = std::env::args().any(|a| a == "--bench");
    if !benchmarking {
        let once = check_once(&text, &shown);
        println!(
            "check {lines}-line file: one run {:.1} ms (smoke test; use `cargo bench` to time)",
            ms(once)
        );
        return;
    }
    let runs = std::env::var("FFIDL_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_RUNS);
    check_once(&text, &shown); // warm-up
    let check = Timing::measure(runs, || check_once(&text, &shown));
    // CPU time of the process (the parser runs on its own thread): steadier than wall
    // time when other processes share the cores.
    let check_cpu = process_cpu_time().map(|_| {
        Timing::measure(runs, || {
            let before = process_cpu_time().unwrap_or_default();
            check_once(&text, &shown);
            process_cpu_time()
                .unwrap_or_default()
                .saturating_sub(before)
        })
    });
    // The phases on their own, to show where the time goes.
    let lex = Timing::measure(runs, || {
        let start = Instant::now();
        let tokens = lex::lex(&text, FileId(0));
        let elapsed = start.elapsed();
        drop(tokens);
        elapsed
    });
    let parse = Timing::measure(runs, || {
        let start = Instant::now();
        let file = parse::parse(&text, FileId(0));
        let elapsed = start.elapsed();
        drop(file);
        elapsed
    });
    println!("{}", check.line(&format!("check {lines}-line file")));
    if let Some(cpu) = check_cpu {
        println!("{}", cpu.line("  check, process CPU time"));
    }
    println!("{}", lex.line("  of which lex"));
    println!("{}", parse.line("  of which lex+parse"));
}

/// Median and minimum of several timed runs.
struct Timing {
    median: Duration,
    min: Duration,
    runs: usize,
}

impl Timing {
    fn measure(runs: usize, mut once: impl FnMut() -> Duration) -> Timing {
        let mut times: Vec<Duration> = (0..runs).map(|_| once()).collect();
        times.sort();
        let median = if runs % 2 == 1 {
            times[runs / 2]
        } else {
            (times[runs / 2 - 1] + times[runs / 2]) / 2
        };
        Timing {
            median,
            min: times[0],
            runs,
        }
    }

    fn line(&self, label: &str) -> String {
        format!(
            "{label}: median {:.1} ms (min {:.1} ms) over {} runs",
            ms(self.median),
            ms(self.min),
            self.runs
        )
    }
}
