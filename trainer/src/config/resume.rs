//! What a resumed run continues: the checkpoint's configuration, with its epochs raised where
//! asked. A flag given with `--resume` that says anything else (another seed, learning rate,
//! architecture, T, training subset, ...) is refused, naming the flag and the checkpoint's
//! value, rather than ignored.

use std::fmt::Debug;
use std::path::PathBuf;

use super::{ConfigError, Overrides, TrainConfig};

/// The settings of a run a resume could contradict: `ttfs train`'s flag for each, and the two
/// values as text when they differ.
fn differences(
    checkpoint: &TrainConfig,
    asked: &TrainConfig,
) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let mut check = |flag: &'static str, kept: &dyn Debug, given: &dyn Debug| {
        let (kept, given) = (format!("{kept:?}"), format!("{given:?}"));
        if kept != given {
            out.push((flag, kept, given));
        }
    };
    let (k, a) = (checkpoint, asked);
    check("--dataset", &k.dataset, &a.dataset);
    check("--data", &k.data_dir, &a.data_dir);
    check("--arch (or --pool)", &k.arch, &a.arch);
    check("--batch", &k.batch_size, &a.batch_size);
    check("--lr", &k.optimizer.lr, &a.optimizer.lr);
    check(
        "--weight-decay",
        &k.optimizer.weight_decay,
        &a.optimizer.weight_decay,
    );
    check("-T (--steps)", &k.steps, &a.steps);
    check("--seed", &k.seed, &a.seed);
    check("--init (or --init-gain)", &k.init, &a.init);
    check("--weight-norm", &k.weight_norm, &a.weight_norm);
    check("--affine", &k.affine, &a.affine);
    check("--bias", &k.bias, &a.bias);
    check("--decode (or --lambda)", &k.weighting, &a.weighting);
    check("--logit-scale", &k.logit_scale, &a.logit_scale);
    check(
        "--potential-weight",
        &k.potential_weight,
        &a.potential_weight,
    );
    check(
        "--first-spike-weight",
        &k.first_spike_weight,
        &a.first_spike_weight,
    );
    check("--surrogate (or --alpha)", &k.surrogate, &a.surrogate);
    check("--mask-grad", &k.mask_grad, &a.mask_grad);
    check("--input (or --levels)", &k.encoding, &a.encoding);
    check("--tie-break", &k.tie_break, &a.tie_break);
    check("--crop-pad", &k.crop_pad, &a.crop_pad);
    check("--train-limit", &k.train_limit, &a.train_limit);
    check("--test-limit", &k.test_limit, &a.test_limit);
    check("--validation", &k.validation, &a.validation);
    check(
        "--sparsity (or --gamma, --xi, --margin, --target-rate)",
        &k.sparsity,
        &a.sparsity,
    );
    check("--from", &k.init_from, &a.init_from);
    check("--prune", &k.prune, &a.prune);
    check(
        "--quantize-for (or --weight-bits)",
        &k.quantize,
        &a.quantize,
    );
    out
}

impl TrainConfig {
    /// The configuration a run resumed from a checkpoint trained with `self` continues: the
    /// same, with the epochs raised to `o.epochs` where that is more (never lowered). Every
    /// other setting `o` gives, and `dataset`, `arch` and `data_dir` where given, must be what
    /// the checkpoint says.
    ///
    /// # Errors
    /// [`ConfigError::Resume`] naming the first flag that contradicts the checkpoint, with
    /// both values; a flag that breaks a rule, as [`TrainConfig::overridden`].
    pub fn resumed(
        &self,
        o: &Overrides,
        dataset: Option<&str>,
        arch: Option<&str>,
        data_dir: Option<PathBuf>,
    ) -> Result<TrainConfig, ConfigError> {
        let mut asked = self.clone();
        if let Some(dataset) = dataset {
            asked.dataset = dataset.to_string();
        }
        if let Some(arch) = arch {
            asked.arch = arch.to_string();
        }
        if let Some(dir) = data_dir {
            asked.data_dir = dir;
        }
        let asked = asked.overridden(o)?;
        if let Some((flag, kept, given)) = differences(self, &asked).into_iter().next() {
            return Err(ConfigError::Resume { flag, kept, given });
        }
        let mut resumed = self.clone();
        resumed.epochs = self.epochs.max(asked.epochs);
        Ok(resumed)
    }
}
