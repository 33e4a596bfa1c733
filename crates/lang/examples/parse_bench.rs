use ffidl_lang::{parse, FileId};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..100 { let _ = parse::parse("", FileId(0)); }
    println!("empty: {:?}/parse", t.elapsed() / 100);
    let t = std::time::Instant::now();
    for _ in 0..100 { let _ = parse::parse(&text, FileId(0)); }
    println!("file: {:?}/parse", t.elapsed() / 100);
}
