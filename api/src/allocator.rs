//! The allocator's settings, made once when the binary starts, before any other thread.
//!
//! glibc's malloc serves a large block from a mapping of its own and unmaps it when it is
//! freed, but after the first such free it raises its threshold to that block's size, and the
//! next blocks of that size come from a heap, which keeps what is freed. The hashing threads'
//! 19 MiB Argon2 blocks, made for a burst of log-ins and dropped when it ends (see
//! `auth/passwords.rs`), would then stay with the process for good. A fixed threshold keeps
//! every block of 1 MiB or more in its own mapping, given back to the system when freed.

/// Blocks of this size or more are mapped for themselves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAP_THRESHOLD: libc::c_int = 1 << 20;

/// Fixes the allocator's mapping threshold (glibc on Linux; elsewhere nothing to do).
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; it takes malloc's own lock and touches no
    // memory of ours.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_THRESHOLD);
    }
}
