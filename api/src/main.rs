//! The `canyu` binary.

fn main() -> anyhow::Result<()> {
    canyu::allocator::configure();
    actix_web::rt::System::new().block_on(canyu::cli::run())
}
