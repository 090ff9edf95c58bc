//! The `canyu` binary.

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    canyu::cli::run().await
}
