//! The threads that parse fetched documents during one sync.
//!
//! A fixed set of threads, one per core, kept for the whole sync: each
//! keeps its malloc arena, its deflate compressor and its regex caches
//! warm. On tokio's blocking pool the parses spread over every thread the
//! pool had started (for DNS lookups and file reads too), each of which
//! kept an arena of freed memory; a thread started per parse began cold
//! every time (the 200 x 50 cold sync's peak, medians of three: 78 MB from
//! local files and 58 MB over loopback HTTP on tokio's pool, 65 and 66 MB
//! with a thread per parse, 55 and 55 MB with this pool).
//!
//! A parse cannot be stopped: one that outlives its deadline keeps its
//! thread, so the sync starts another ([`ParsePool::replace_one`]), and the
//! threads end when the sync drops the pool, each after its current job.
//! Should no thread start at all (a process limit), parses run on tokio's
//! blocking pool.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// Parse threads (see the module documentation).
pub struct ParsePool {
    jobs: Mutex<Sender<Job>>,
    queue: Arc<Mutex<Receiver<Job>>>,
    /// Threads started and not ended.
    live: Arc<AtomicUsize>,
}

impl ParsePool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> ParsePool {
        let pool = ParsePool::without_threads();
        for _ in 0..threads.max(1) {
            pool.start_thread();
        }
        pool
    }

    fn without_threads() -> ParsePool {
        let (jobs, queue) = channel::<Job>();
        ParsePool { jobs: Mutex::new(jobs), queue: Arc::new(Mutex::new(queue)), live: Arc::default() }
    }

    fn start_thread(&self) {
        let queue = Arc::clone(&self.queue);
        let live = Arc::clone(&self.live);
        self.live.fetch_add(1, Ordering::SeqCst);
        let started = std::thread::Builder::new().name("syndic-parse".into()).spawn(move || {
            loop {
                // The lock is held while waiting for a job only, not while running one.
                let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                match job {
                    // A panic is the job's failure (its result never comes); the thread goes on.
                    Ok(job) => {
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                    Err(_) => break,
                }
            }
            live.fetch_sub(1, Ordering::SeqCst);
        });
        if let Err(e) = started {
            self.live.fetch_sub(1, Ordering::SeqCst);
            // The other threads go on; with none, parses run on tokio's blocking pool.
            tracing::warn!(error = %e, "cannot start a parse thread");
        }
    }

    /// A thread more, for one a parse past its deadline still holds.
    pub fn replace_one(&self) {
        self.start_thread();
    }

    /// Runs `job` on one of the pool's threads; `None` if it panicked (or
    /// no thread could ever run it).
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        if self.live.load(Ordering::SeqCst) == 0 {
            // No thread could be started (a process limit): a queued job
            // would wait for its deadline and fail.
            return tokio::task::spawn_blocking(job).await.ok();
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(job());
        });
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner).send(job).ok()?;
        rx.await.ok()
    }

    /// [`ParsePool::run`] on a shared pool, for a future that owns its reference.
    pub async fn run_owned<T: Send + 'static>(self: Arc<Self>, job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        self.run(job).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pools_threads_and_a_panic_is_that_jobs_failure() {
        let pool = ParsePool::new(2);
        assert_eq!(pool.run(|| 6 * 7).await, Some(42));
        assert_eq!(pool.run(|| -> i32 { panic!("a hostile document") }).await, None);
        // The thread that panicked goes on: both threads still take jobs.
        for _ in 0..4 {
            let name = pool.run(|| std::thread::current().name().map(str::to_owned)).await;
            assert_eq!(name.flatten().as_deref(), Some("syndic-parse"));
        }
    }

    #[tokio::test]
    async fn without_threads_jobs_run_on_the_blocking_pool() {
        let pool = ParsePool::without_threads();
        let limit = std::time::Duration::from_secs(10);
        let name = tokio::time::timeout(limit, pool.run(|| std::thread::current().name().map(str::to_owned))).await;
        assert_ne!(name.expect("no thread ever takes the job").flatten().as_deref(), Some("syndic-parse"));
        assert_eq!(pool.run(|| 6 * 7).await, Some(42));
        assert_eq!(ParsePool::new(1).live.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_thread_held_past_a_deadline_is_replaced() {
        let pool = Arc::new(ParsePool::new(1));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let stuck = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = started_tx.send(());
                    held.recv().is_ok()
                })
                .await
            })
        };
        started.await.unwrap();
        // The only thread is held: a second job waits...
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(200), pool.run(|| 1)).await;
        assert!(waiting.is_err());
        // ...until the pool has a thread more.
        pool.replace_one();
        let after = tokio::time::timeout(std::time::Duration::from_secs(10), pool.run(|| 2)).await;
        assert_eq!(after.ok().flatten(), Some(2));
        release.send(()).unwrap();
        assert_eq!(stuck.await.unwrap(), Some(true));
    }
}
