//! Sets `cfg(canyu_postgres)` when the suite is built with `TEST_DATABASE_URL`, so tests that
//! need Postgres are reported as ignored on SQLite instead of passing without running.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(canyu_postgres)");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=canyu_postgres");
    }
}
