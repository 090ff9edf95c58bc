//! The `canyu` binary.

/// mimalloc: faster than the system allocator on the request path's many small allocations,
/// and it gives freed memory back (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    canyu::cli::run().await
}
