use ffidl_lang::{diag, parse, SourceMap};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut map = SourceMap::new();
    let id = map.add(path.clone(), None, text.clone());
    let (ast, d) = parse::parse(&text, id);
    if std::env::var_os("AST").is_some() { println!("{ast:#?}"); }
    print!("{}", diag::render(&map, &d));
}
