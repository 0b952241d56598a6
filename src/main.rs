//! The `lakescore` binary: everything happens in [`lakescore::cli`].

fn main() {
    std::process::exit(lakescore::cli::main());
}
