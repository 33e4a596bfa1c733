//! Parsing and checking free everything they allocate: an embedder that loads bindings
//! again and again must not grow. Counts live heap bytes with a wrapping allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is
// updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SOURCE: &str = r#"
struct P { x: i32, y: [f64; 2] }
union U { a: i32, b: f32 }
enum E: u8 { A = 1, B = 2 }
callback F = fn(p: *P) -> i32;
library c = "libc.so.6";
extern c { fn abs(x: i32) -> i32; fn printf(fmt: cstr, ...) -> c_int; }
fn twice(v: i32) -> i32 { return v * 2; }
let p = P { x: abs(-3), y: [1.0, 2.0] };
if p.x > 2 && (p.x as u8) < 10 { print(twice(p.x), sizeof(U), E::B as i32); }
let bad = ;
"#;

#[test]
fn parsing_and_checking_again_and_again_does_not_grow_the_heap() {
    let once = || {
        let mut map = ffidl_lang::SourceMap::new();
        let result = ffidl_lang::check_source(
            &mut map,
            "leak.ffidl",
            None,
            SOURCE.to_string(),
            ffidl_lang::Target::host(),
        );
        assert!(
            result.is_err(),
            "the source has one syntax error on purpose"
        );
    };
    once();
    let before = LIVE.load(Ordering::Relaxed);
    for _ in 0..50 {
        once();
    }
    let grown = LIVE.load(Ordering::Relaxed) - before;
    // A leak of the parser (about 5 KB a parse) would show as ~250 KB here.
    assert!(grown < 4096, "{grown} bytes still live after 50 parses");
}
