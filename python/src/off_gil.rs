//! Long calls run without the GIL, so other Python threads go on: the work runs on a thread of
//! its own (on a pool of `threads` workers when given) while the calling thread waits and, every
//! 50 ms, asks Python whether a signal came. Ctrl-C raises `KeyboardInterrupt` there, sets the
//! stop flag the work polls, and returns once the work has stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::{Error, input_error};

/// Runs `work` off the GIL on `threads` workers (`None`: one per core), handing it a flag that
/// turns true when the user pressed Ctrl-C; the work should stop soon after.
///
/// # Errors
/// `InputError` for 0 threads, `KeyboardInterrupt` (or the signal handler's error) after a
/// signal, `Error` if the work panicked.
pub fn run_off_gil<T, F>(py: Python<'_>, threads: Option<usize>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&AtomicBool) -> T + Send,
{
    let pool = match threads {
        None => None,
        Some(0) => return Err(input_error("threads must be at least 1")),
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::new_err(format!("could not start {n} threads: {e}")))?,
        ),
    };
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| match &pool {
            Some(pool) => pool.install(|| work(&stop)),
            None => work(&stop),
        });
        let mut interrupted = None;
        while !handle.is_finished() {
            py.detach(|| std::thread::sleep(Duration::from_millis(50)));
            if interrupted.is_none() {
                if let Err(signal) = py.check_signals() {
                    stop.store(true, Ordering::Relaxed);
                    interrupted = Some(signal);
                }
            }
        }
        let result = handle
            .join()
            .map_err(|_| Error::new_err("ttfs panicked; this is a bug, please report it"));
        match interrupted {
            Some(signal) => Err(signal),
            None => result,
        }
    })
}
