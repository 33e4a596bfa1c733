//! cargo-fuzz target: any bytes, read as (lossy) UTF-8 text the way a file would be,
//! go through the whole front end (lex, parse, check). It must return diagnostics or a
//! program, never panic, overflow the stack or hang.
#![no_main]

use ffidl_lang::{check_source, SourceMap, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let mut map = SourceMap::new();
    let _ = check_source(&mut map, "<fuzz>", None, text, Target::SysVX64);
});
