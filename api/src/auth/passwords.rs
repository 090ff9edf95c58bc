//! Password hashing: Argon2id (m = 19 MiB, t = 2, p = 1) as PHC strings.
//!
//! A fixed set of hashing threads (by default half the cores) does every computation, each
//! reusing one block of Argon2 memory while work keeps coming and giving it back after
//! [`IDLE_RELEASE`] without any: a flood of log-ins holds no more memory than one hash per
//! thread, and a server between log-ins holds none (the block is mapped for itself and unmapped
//! when dropped, see `allocator.rs`). The memory held shows in
//! `canyu_password_hash_memory_bytes`. Work waits in a bounded queue; when the queue is full the
//! caller gets RATE_LIMITED at once rather than a place in an ever longer line. Verifying
//! against an unknown user uses a dummy hash, so an unknown handle costs the same as a wrong
//! password. Every computation is counted in `canyu_password_hashes_total`.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use flume::{Receiver, RecvTimeoutError, Sender, TrySendError};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use prometheus::{IntCounter, IntGauge};
use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 10;
/// Longest accepted password, in characters.
pub const MAX_LEN: usize = 128;

/// Argon2 memory in KiB (m), passes (t) and lanes (p) of every new hash.
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// How long a hashing thread keeps its Argon2 memory without work before giving it back.
pub const IDLE_RELEASE: Duration = Duration::from_secs(1);

/// Hashes and verifies passwords on a fixed set of threads.
#[derive(Clone)]
pub struct PasswordHasherPool {
    queue: Sender<Job>,
    dummy_hash: Arc<String>,
}

/// One computation for a hashing thread, and where its answer goes.
struct Job {
    task: Task,
    reply: oneshot::Sender<AppResult<Answer>>,
}

enum Task {
    Hash(String),
    Verify { password: String, phc: String },
}

enum Answer {
    Hashed(String),
    Verified(bool),
}

impl PasswordHasherPool {
    /// Starts `threads` hashing threads behind a queue of `queue` waiting computations, each
    /// computation counted in `hashes` and the memory they hold in `memory`.
    pub fn new(
        threads: usize,
        queue: usize,
        hashes: IntCounter,
        memory: IntGauge,
    ) -> AppResult<Self> {
        let (sender, receiver) = flume::bounded(queue);
        // The first thread makes the dummy hash, as its first job.
        let (dummy_sender, dummy) = mpsc::channel();
        for index in 0..threads.max(1) {
            let meters = Meters {
                hashes: hashes.clone(),
                memory: memory.clone(),
            };
            let receiver = receiver.clone();
            let dummy_sender = (index == 0).then(|| dummy_sender.clone());
            std::thread::Builder::new()
                .name(format!("canyu-argon2-{index}"))
                .spawn(move || work(&receiver, &meters, dummy_sender))
                .map_err(AppError::internal)?;
        }
        drop(dummy_sender);
        let dummy_hash = dummy.recv().map_err(|_| {
            AppError::internal("the hashing thread stopped before its first hash")
        })??;
        Ok(PasswordHasherPool {
            queue: sender,
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        match self.run(Task::Hash(password)).await? {
            Answer::Hashed(phc) => Ok(phc),
            Answer::Verified(_) => Err(AppError::internal("a hash answered as a verification")),
        }
    }

    /// Checks `password` against `phc`; with `None` it does the same work and answers `false`.
    pub async fn verify(&self, password: String, phc: Option<String>) -> AppResult<bool> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        match self.run(Task::Verify { password, phc }).await? {
            Answer::Verified(matches) => Ok(known && matches),
            Answer::Hashed(_) => Err(AppError::internal("a verification answered as a hash")),
        }
    }

    async fn run(&self, task: Task) -> AppResult<Answer> {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Job { task, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(AppError::rate_limited(
                    "too many password checks are waiting; try again in a moment",
                    1,
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::internal("the hashing threads have stopped"));
            }
        }
        answer
            .await
            .map_err(|_| AppError::internal("a hashing thread dropped its work"))?
    }
}

/// What a hashing thread reports: its computations and the memory it holds.
struct Meters {
    hashes: IntCounter,
    memory: IntGauge,
}

/// A hashing thread: answers jobs until the pool is dropped, in one block of Argon2 memory made
/// for the first job after a quiet spell, reused while jobs keep coming, and dropped after
/// [`IDLE_RELEASE`] without one (the first thread starts with the pool's dummy hash, which it
/// sends to `dummy`).
fn work(jobs: &Receiver<Job>, meters: &Meters, dummy: Option<mpsc::Sender<AppResult<String>>>) {
    let Ok(params) = params() else {
        return;
    };
    let mut memory = Memory::new(params.block_count(), &meters.memory);
    if let Some(dummy) = dummy {
        let _ = dummy.send(hash_with(
            memory.blocks(),
            super::secrets::generate().as_bytes(),
        ));
    }
    loop {
        let next = if memory.is_held() {
            jobs.recv_timeout(IDLE_RELEASE)
        } else {
            jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                memory.release();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        meters.hashes.inc();
        let answer = match job.task {
            Task::Hash(password) => {
                hash_with(memory.blocks(), password.as_bytes()).map(Answer::Hashed)
            }
            Task::Verify { password, phc } => {
                verify_with(memory.blocks(), password.as_bytes(), &phc).map(Answer::Verified)
            }
        };
        // The caller may have gone (its request timed out); the work is done either way.
        let _ = job.reply.send(answer);
    }
}

/// A hashing thread's Argon2 memory: made when a job needs it, dropped when the thread goes
/// idle, and counted in the pool's gauge while held.
struct Memory<'a> {
    blocks: Vec<Block>,
    count: usize,
    gauge: &'a IntGauge,
}

impl<'a> Memory<'a> {
    fn new(count: usize, gauge: &'a IntGauge) -> Self {
        Memory {
            blocks: Vec::new(),
            count,
            gauge,
        }
    }

    fn is_held(&self) -> bool {
        !self.blocks.is_empty()
    }

    fn blocks(&mut self) -> &mut [Block] {
        if self.blocks.is_empty() {
            self.blocks = vec![Block::default(); self.count];
            self.gauge.add(self.bytes());
        }
        &mut self.blocks
    }

    fn release(&mut self) {
        if self.is_held() {
            self.gauge.sub(self.bytes());
            self.blocks = Vec::new();
        }
    }

    fn bytes(&self) -> i64 {
        (self.count * std::mem::size_of::<Block>()) as i64
    }
}

impl Drop for Memory<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

fn params() -> AppResult<Params> {
    Params::new(M_COST, T_COST, P_COST, None).map_err(AppError::internal)
}

/// A new PHC string for `password`, computed in `memory`.
fn hash_with(memory: &mut [Block], password: &[u8]) -> AppResult<String> {
    let params = params()?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = Salt::generate();
    let mut out = [0u8; 32];
    let blocks = memory
        .get_mut(..params.block_count())
        .ok_or_else(|| AppError::internal("hashing memory is too small"))?;
    argon2
        .hash_password_into_with_memory(password, &salt, &mut out, blocks)
        .map_err(AppError::internal)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(AppError::internal)?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(AppError::internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches `phc`, computed in `memory` (a stored hash with more memory than
/// ours gets its own, once).
fn verify_with(memory: &mut [Block], password: &[u8], phc: &str) -> AppResult<bool> {
    let parsed = PasswordHash::new(phc).map_err(AppError::internal)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Ok(false);
    };
    let params = Params::try_from(&parsed).map_err(AppError::internal)?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(AppError::internal)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(AppError::internal)?
        .unwrap_or_default();
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = match memory.get_mut(..params.block_count()) {
        Some(blocks) => argon2.hash_password_into_with_memory(password, salt, &mut out, blocks),
        None => argon2.hash_password_into(password, salt, &mut out),
    };
    if computed.is_err() {
        return Ok(false);
    }
    // `Output` compares in constant time.
    Ok(Output::new(&out).is_ok_and(|output| output == *expected))
}

/// Checks the length rules for a new password.
pub fn validate(field: &str, password: &str) -> AppResult<()> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(AppError::bad_input(
            field,
            format!("password must be {MIN_LEN}–{MAX_LEN} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_reads_as_argon2id() {
        let mut memory = vec![Block::default(); params().unwrap().block_count()];
        let phc = hash_with(&mut memory, b"correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_with(&mut memory, b"correct horse battery", &phc).unwrap());
        assert!(!verify_with(&mut memory, b"correct horse batterx", &phc).unwrap());
        // A hash made by the crate's own hasher (as older rows were) verifies the same way.
        use argon2::PasswordHasher;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap());
        let older = argon2
            .hash_password(b"an older password")
            .unwrap()
            .to_string();
        assert!(verify_with(&mut memory, b"an older password", &older).unwrap());
    }
}
