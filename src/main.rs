//! The `lakescore` binary: everything happens in [`lakescore::cli`].

/// jemalloc, as polars' own builds and uv use: glibc malloc's growing mmap
/// threshold let peak memory creep up with input size on long runs, while
/// jemalloc keeps it flat (see the memory figures in README.md).
#[cfg(all(unix, not(target_os = "macos")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(lakescore::cli::main());
}
