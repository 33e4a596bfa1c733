//! The `ffidl` command line: argument parsing and exit statuses only.

fn main() {
    println!("ffidl");
}
