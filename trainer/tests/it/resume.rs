//! Resuming a run from its checkpoint continues it exactly.
//!
//! The scenario the trainer promises (train.rs, checkpoint.rs) is a run that is killed and then
//! resumed with the same configuration. The kill is simulated by a [`Progress`] observer that
//! unwinds at the end of epoch 1, after the checkpoint of that epoch is written (the training
//! loop writes the checkpoint before it calls `epoch_end`). `resume_unwind` skips the panic
//! hook, so nothing is printed.
//!
//! Bit-identical results need the same summation order in the matrix products: the matrices
//! here are tiny, so the gemm kernels do not split them across threads.
//!
//! Resuming with *more* epochs than the checkpoint's run is a different thing: the cosine
//! learning-rate schedule spans the new total, so epochs after the resume do not match a run
//! trained with the larger total from the start (the test below pins what does hold).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;

use ttfs_compiler::model;
use ttfs_trainer::{
    EpochRecord, ObserverError, Progress, Silent, TrainConfig, TrainError, append_jsonl, cosine_lr,
    train,
};

use crate::synthetic::{data_folder, read_jsonl, run_paths};

fn config(data: &Path, epochs: u32) -> TrainConfig {
    let mut config = TrainConfig::recipe("mnist", data.to_path_buf(), "64-16-10");
    config.batch_size = 16;
    config.epochs = epochs;
    config.steps = 4;
    config
}

/// Stops the run at the end of epoch `at` as a kill would (the checkpoint is already written).
struct KillAfter {
    at: u32,
}

struct Killed;

impl Progress for KillAfter {
    fn epoch_start(&mut self, _: u32, _: u32, _: usize) {}
    fn batch(&mut self, _: f64, _: f64, _: f64) {}
    fn epoch_end(&mut self, records: &[EpochRecord]) -> Result<(), ObserverError> {
        if records.last().is_some_and(|r| r.epoch == self.at) {
            resume_unwind(Box::new(Killed));
        }
        Ok(())
    }
}

fn assert_same_tensors(a: &Path, b: &Path) {
    let a = model::read(a).unwrap();
    let b = model::read(b).unwrap();
    assert_eq!(
        a.tensors.keys().collect::<Vec<_>>(),
        b.tensors.keys().collect::<Vec<_>>()
    );
    for (name, ta) in &a.tensors {
        let tb = &b.tensors[name];
        assert_eq!(ta.shape, tb.shape, "{name}");
        let bits_a: Vec<u32> = ta.data.iter().map(|v| v.to_bits()).collect();
        let bits_b: Vec<u32> = tb.data.iter().map(|v| v.to_bits()).collect();
        assert!(bits_a == bits_b, "tensor {name} differs");
    }
}

#[test]
fn a_killed_and_resumed_run_equals_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 64, 32, 1);

    let straight = run_paths(dir.path(), "a");
    let a = train(config(&data, 2), &straight, false, &mut Silent).unwrap();

    let resumed = run_paths(dir.path(), "b");
    let killed = catch_unwind(AssertUnwindSafe(|| {
        train(config(&data, 2), &resumed, false, &mut KillAfter { at: 1 })
    }));
    match killed {
        Err(payload) => assert!(payload.is::<Killed>(), "the run failed for another reason"),
        Ok(_) => panic!("the run was not interrupted"),
    }
    assert!(resumed.checkpoint.exists() && !resumed.model.exists());
    assert_eq!(read_jsonl(&resumed.log).unwrap().len(), 1);
    let b = train(config(&data, 2), &resumed, true, &mut Silent).unwrap();

    assert_same_tensors(&straight.model, &resumed.model);
    let (log_a, log_b) = (
        read_jsonl(&straight.log).unwrap(),
        read_jsonl(&resumed.log).unwrap(),
    );
    assert_eq!((log_a.len(), log_b.len()), (2, 2));
    for (ra, rb) in log_a.iter().zip(&log_b) {
        assert_eq!(ra.epoch, rb.epoch);
        assert_eq!(
            ra.train_loss.to_bits(),
            rb.train_loss.to_bits(),
            "epoch {}",
            ra.epoch
        );
        assert_eq!(ra.train_accuracy, rb.train_accuracy, "epoch {}", ra.epoch);
        assert_eq!(ra.test_accuracy, rb.test_accuracy, "epoch {}", ra.epoch);
        assert_eq!(ra.learning_rate, rb.learning_rate, "epoch {}", ra.epoch);
    }
    assert_eq!(a.test.accuracy, b.test.accuracy);
    assert_eq!(b.records.len(), 2);
}

/// A checkpoint with one bit of a weight flipped is refused by its digest; the run does not
/// train on from it.
#[test]
fn a_checkpoint_with_a_flipped_bit_is_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 64, 32, 3);
    let paths = run_paths(dir.path(), "run");
    train(config(&data, 1), &paths, false, &mut Silent).unwrap();
    let mut bytes = std::fs::read(&paths.checkpoint).unwrap();
    // The tensors are the file's tail; the last value is a parameter or a moment.
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    std::fs::write(&paths.checkpoint, &bytes).unwrap();
    let err = train(config(&data, 2), &paths, true, &mut Silent).unwrap_err();
    assert!(matches!(err, TrainError::Checkpoint(_)), "{err}");
    assert!(err.to_string().contains("do not match its digest"), "{err}");
}

#[test]
fn resuming_with_more_epochs_keeps_the_first_and_adds_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 64, 32, 2);
    let paths = run_paths(dir.path(), "run");
    train(config(&data, 1), &paths, false, &mut Silent).unwrap();
    let first = read_jsonl(&paths.log).unwrap();
    assert_eq!(first.len(), 1);
    let out = train(config(&data, 2), &paths, true, &mut Silent).unwrap();
    let log = read_jsonl(&paths.log).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0], first[0]);
    assert_eq!(log[1].epoch, 2);
    assert_eq!(out.records.len(), 2);
    let m = model::read(&paths.model).unwrap();
    assert_eq!(m.description.training.epochs, 2);
    // 4 batches per epoch. The one-epoch run's cosine schedule spans 4 steps (its last batch
    // runs at step 3 of 4); the resumed epoch continues the optimiser's step count (4..8) on a
    // schedule that spans the new total of 8 steps.
    let lr = config(&data, 1).optimizer.lr;
    // The log's numbers come back from JSON to within about one unit in the last place.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
    assert!(
        close(log[0].learning_rate, cosine_lr(lr, 3, 4)),
        "{}",
        log[0].learning_rate
    );
    assert!(
        close(log[1].learning_rate, cosine_lr(lr, 7, 8)),
        "{}",
        log[1].learning_rate
    );
}

#[test]
fn resuming_without_a_checkpoint_names_the_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = run_paths(dir.path(), "never-trained");
    let err = train(config(dir.path(), 2), &paths, true, &mut Silent).unwrap_err();
    assert!(matches!(err, TrainError::Checkpoint(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&paths.checkpoint.display().to_string()),
        "the error does not name {}: {message}",
        paths.checkpoint.display()
    );
}

#[test]
fn a_stale_log_line_past_the_checkpoint_is_dropped_on_resume() {
    // A log line of an epoch whose checkpoint never landed (a kill at the wrong moment, or
    // a log edited by hand) must not survive a resume: the checkpoint's own records win.
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 64, 32, 3);
    let paths = run_paths(dir.path(), "run");
    let killed = catch_unwind(AssertUnwindSafe(|| {
        train(config(&data, 2), &paths, false, &mut KillAfter { at: 1 })
    }));
    assert!(killed.is_err());
    // The kill hit after epoch 2's log line was written, before its checkpoint.
    let mut stale = read_jsonl(&paths.log).unwrap().remove(0);
    stale.epoch = 2;
    append_jsonl(&paths.log, &stale).unwrap();
    let out = train(config(&data, 2), &paths, true, &mut Silent).unwrap();
    assert_eq!(out.records.len(), 2);
    let epochs: Vec<u32> = read_jsonl(&paths.log)
        .unwrap()
        .iter()
        .map(|r| r.epoch)
        .collect();
    assert_eq!(epochs, [1, 2], "the log file lists epochs {epochs:?}");
}

/// Records the start of a run as the observer sees it.
#[derive(Default)]
struct Starts {
    init_firing: usize,
    resumed: Vec<(u32, u32)>,
}

impl Progress for Starts {
    fn init_firing(&mut self, _: &[ttfs_trainer::LayerFiring]) {
        self.init_firing += 1;
    }
    fn resumed(&mut self, done: u32, epochs: u32) {
        self.resumed.push((done, epochs));
    }
    fn epoch_start(&mut self, _: u32, _: u32, _: usize) {}
    fn batch(&mut self, _: f64, _: f64, _: f64) {}
    fn epoch_end(&mut self, _: &[EpochRecord]) -> Result<(), ObserverError> {
        Ok(())
    }
}

#[test]
fn a_resumed_run_says_where_it_resumes_and_not_how_a_fresh_network_fires() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_folder(dir.path(), 32, 16, 4);
    let paths = run_paths(dir.path(), "r");
    let mut fresh = Starts::default();
    train(config(&data, 1), &paths, false, &mut fresh).unwrap();
    assert_eq!((fresh.init_firing, fresh.resumed.len()), (1, 0));
    let mut resumed = Starts::default();
    train(config(&data, 2), &paths, true, &mut resumed).unwrap();
    assert_eq!((resumed.init_firing, resumed.resumed), (0, vec![(1, 2)]));
}
