//! Training throughput: `ttfs train --bench`, the figure compared with PyTorch's.

use std::time::Instant;

use candle_core::{Device, Tensor};

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::input::batch_input;
use crate::optim::AdamW;
use crate::train::{Objective, build_network, load_split, train_step};
use ttfs_data::Split;

/// Training throughput measured by [`bench()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BenchResult {
    /// Samples per second over the timed batches (forward, backward and update).
    pub samples_per_second: f64,
    /// Batches timed.
    pub batches: usize,
    /// Samples per batch.
    pub batch_size: usize,
}

/// Times `batches` training steps (after two warm-up steps) on the first training images.
///
/// # Errors
/// [`TrainError`]: a configuration that breaks a rule, unreadable data, a tensor error.
pub fn bench(config: &TrainConfig, batches: usize) -> Result<BenchResult, TrainError> {
    config.validate()?;
    let need = config.batch_size * (batches + 2);
    let train_set = load_split(config, Split::Train, Some(need))?;
    let net = build_network(config, &train_set)?;
    let mut optimizer = AdamW::new(config.optimizer, &net.params)?;
    let loss_fn = config.loss();
    let mut buffer = Vec::new();
    let order: Vec<usize> = (0..train_set.len()).collect();
    let mut timed = 0usize;
    let mut start = Instant::now();
    for (b, chunk) in order.chunks(config.batch_size).enumerate() {
        if b == 2 {
            start = Instant::now();
        }
        let (input, mode) = batch_input(
            &train_set,
            chunk,
            config.encoding,
            config.steps,
            &mut buffer,
        )?;
        let labels: Vec<u32> = chunk.iter().map(|&i| train_set.labels[i] as u32).collect();
        let targets = Tensor::from_vec(labels, chunk.len(), &Device::Cpu)?;
        train_step(
            &net,
            &Objective {
                loss: &loss_fn,
                sparsity: &config.sparsity,
            },
            &mut optimizer,
            &input,
            mode,
            &targets,
            config.optimizer.lr,
        )?;
        if b >= 2 {
            timed += chunk.len();
        }
    }
    Ok(BenchResult {
        samples_per_second: timed as f64 / start.elapsed().as_secs_f64().max(1e-9),
        batches: timed / config.batch_size.max(1),
        batch_size: config.batch_size,
    })
}
