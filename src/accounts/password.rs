//! Password hashing with argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1), on a few
//! threads of its own, so a login storm can neither exhaust memory, nor stall the async runtime,
//! nor slow down the pages of everyone already signed in.

use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex};

use anyhow::anyhow;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// At most this many hashes run at once (19 MiB each): one per two cores, up to four, so that
/// a login storm leaves half the cores to everyone already signed in.
fn hashing_threads() -> usize {
    (std::thread::available_parallelism().map_or(1, std::num::NonZero::get) / 2).clamp(1, 4)
}

/// The hashing threads' nice value. A hash takes tens of milliseconds of pure CPU; at normal
/// priority twenty parallel logins took the cores from every page request for that long. At
/// this priority the scheduler lets page requests (and PostgreSQL) run first and gives the hashes
/// what is left, which on an idle machine is everything.
const HASHING_NICENESS: i32 = 10;
const MEMORY_KIB: u32 = 19 * 1024;

fn params() -> Params {
    Params::new(MEMORY_KIB, 2, 1, None).expect("valid argon2 parameters")
}

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The working memory of one hash. The few blocks in use are kept and reused rather than
/// allocated anew for every login: a storm of logins would otherwise leave the allocator
/// holding hundreds of megabytes it never returns.
type Memory = Vec<Block>;

fn new_memory(params: &Params) -> Memory {
    vec![Block::default(); params.block_count()]
}

/// Verifying against this when the account does not exist keeps the response time the same,
/// so timing does not reveal which addresses have accounts.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_with(&mut new_memory(&params()), "not a real password").expect("hashing works")
});

fn hash_with(memory: &mut Memory, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow!("salt: {e}"))?;
    let params = params();
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2(params.clone())
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut *memory)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| anyhow!("hashing failed: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Checks a stored PHC string; hashes made with other memory parameters get memory of their
/// own for the check.
fn verify_with(memory: &mut Memory, password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut own;
    let memory = if memory.len() == params.block_count() {
        memory
    } else {
        own = new_memory(&params);
        &mut own
    };
    let computed = Output::init_with(expected.len(), |out| {
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut *memory)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    });
    // `Output` compares in constant time.
    computed.is_ok_and(|computed| computed == expected)
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// Hands hashes to the hashing threads; they end when the last clone is dropped.
#[derive(Clone)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    pub fn new() -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..hashing_threads() {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || hashing_thread(&queue))
                .expect("starting a hashing thread");
        }
        Hasher { jobs }
    }

    /// Runs `work` on a hashing thread with its block of working memory.
    async fn with_memory<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |memory: &mut Memory| {
            // A request given up while it waited (timeout, client gone) costs no hash.
            if !done.is_closed() {
                let _ = done.send(work(memory));
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow!("the hashing threads have stopped"))?;
        result.await.map_err(|_| anyhow!("the hash was abandoned"))
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.with_memory(move |memory| hash_with(memory, &password))
            .await?
    }

    /// `None` as the stored hash (unknown account, or no password set yet) costs the same time
    /// as a real check and always fails.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        self.with_memory(move |memory| match stored {
            Some(hash) => verify_with(memory, &password, &hash),
            None => {
                verify_with(memory, &password, &DUMMY_HASH);
                false
            }
        })
        .await
    }
}

/// Takes jobs until every `Hasher` is gone, with one block of memory kept for all of them: a
/// fresh 19 MiB per login would leave the allocator holding hundreds of megabytes after a storm.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    let mut memory = new_memory(&params());
    loop {
        // The queue closes when the hasher is dropped.
        let Ok(job) = queue.lock().unwrap_or_else(|p| p.into_inner()).recv() else {
            return;
        };
        job(&mut memory);
    }
}

/// Lowers this thread's priority (on Linux the nice value belongs to the thread). Without
/// permission to do so the hashes simply run at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; gettid has none.
    unsafe {
        // 0 (the calling thread, on Linux) if the id did not fit.
        let thread = libc::id_t::try_from(libc::syscall(libc::SYS_gettid)).unwrap_or(0);
        libc::setpriority(libc::PRIO_PROCESS, thread, HASHING_NICENESS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hasher = Hasher::new();
        let hash = hasher
            .hash("Richtiges Pferd Batterie Heftklammer".into())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify(
                    "Richtiges Pferd Batterie Heftklammer".into(),
                    Some(hash.clone())
                )
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("richtiges pferd batterie heftklammer".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("egal".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_of_the_argon2_crate_and_ours_check_each_other() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let hasher = Hasher::new();
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2(params())
            .hash_password(b"ein-langes-Passwort-2026", &salt)
            .unwrap()
            .to_string();
        assert!(
            hasher
                .verify("ein-langes-Passwort-2026".into(), Some(theirs))
                .await
                .unwrap()
        );
        let ours = hasher
            .hash("ein-langes-Passwort-2026".into())
            .await
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2(params())
                .verify_password(b"ein-langes-Passwort-2026", &parsed)
                .is_ok()
        );
        // A hash with other (older, cheaper) parameters still verifies.
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"altes-Passwort-2020", &salt)
        .unwrap()
        .to_string();
        assert!(
            hasher
                .verify("altes-Passwort-2020".into(), Some(cheap.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anderes".into(), Some(cheap)).await.unwrap());
    }
}
