//! The value sets of `ttfs train`'s flags, and the flags as the trainer's overrides of its
//! recipe.

use clap::ValueEnum;
use ttfs_compiler::model::TieBreak;
use ttfs_trainer::{DecodeKind, InitKind, InputKind, Overrides, SparsityMethod, SurrogateKind};

use super::TrainArgs;

/// An on/off flag.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum Switch {
    /// Use it.
    On,
    /// Leave it out.
    Off,
}

/// `--init` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum InitArg {
    /// Kaiming (He) uniform, Var W = 2 / n_in: the ANN default, too weak for a TTFS network.
    Kaiming,
    /// ETTFS-init, Var W = g / n_in with g = T: keeps the drive from dying out with depth.
    Ettfs,
}

/// `--decode` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum DecodeArg {
    /// Weight w[t] = exp(-lambda (t - 1)) for an output spike at step t.
    Exp,
    /// Weight w[t] = (T - t + 1) / T.
    Linear,
}

/// `--surrogate` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum SurrogateArg {
    /// The derivative of sigmoid(alpha x) stands in for the step's.
    Sigmoid,
    /// The derivative of atan(pi/2 alpha x) / pi + 1/2 stands in for the step's.
    Atan,
}

/// `--pool` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum PoolArg {
    /// Average pooling: single-spike, and the compiler makes it part of the next layer (its
    /// shared axons, or its synapses).
    Avg,
    /// Max pooling, for the ablation only: a pooled unit can spike several times, so the
    /// compiler refuses the model.
    Max,
}

/// `--input` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum InputArg {
    /// One spike per lit pixel, brighter pixels earlier; what a chip receives.
    Latency,
    /// The analog grey level as a current at every step; no shipped chip takes it.
    Direct,
    /// The grey level quantized to --levels steps; on the chip, that many input lines per
    /// pixel, round(p * K / 255) of them spiking at step 1.
    Thermometer,
}

/// `--sparsity` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SparsityArg {
    /// No regularizer.
    None,
    /// The spike count per hidden neuron, through the surrogate gradient (the baseline).
    Count,
    /// M-SSR: the membrane potential at each hidden neuron's firing step, the spike held fixed.
    MSsr,
    /// F-SSR: the softplus of each hidden neuron's firing-condition margin.
    FSsr,
}

/// `--tie-break` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum TieArg {
    /// Outputs firing at the same first step: the larger potential after the last step wins.
    End,
    /// The larger potential at the decision step wins, so the chip may stop there.
    Decision,
}

impl Switch {
    pub(super) fn on(self) -> bool {
        matches!(self, Switch::On)
    }
}

/// The flags as the trainer's overrides of its recipe.
pub(super) fn overrides(args: &TrainArgs) -> Overrides {
    let on = |s: Option<Switch>| s.map(Switch::on);
    Overrides {
        max_pool: matches!(args.pool, Some(PoolArg::Max)),
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        weight_decay: args.weight_decay,
        steps: args.steps,
        seed: args.seed,
        init: args.init.map(|i| match i {
            InitArg::Kaiming => InitKind::Kaiming,
            InitArg::Ettfs => InitKind::Ettfs,
        }),
        init_gain: args.init_gain,
        weight_norm: on(args.weight_norm),
        affine: on(args.affine),
        bias: on(args.bias),
        decode: args.decode.map(|d| match d {
            DecodeArg::Exp => DecodeKind::Exponential,
            DecodeArg::Linear => DecodeKind::Linear,
        }),
        lambda: args.lambda,
        logit_scale: args.logit_scale,
        potential_weight: args.potential_weight,
        first_spike_weight: args.first_spike_weight,
        surrogate: args.surrogate.map(|s| match s {
            SurrogateArg::Sigmoid => SurrogateKind::Sigmoid,
            SurrogateArg::Atan => SurrogateKind::Atan,
        }),
        alpha: args.alpha,
        mask_grad: on(args.mask_grad),
        input: args.input.map(|i| match i {
            InputArg::Latency => InputKind::Latency,
            InputArg::Direct => InputKind::Direct,
            InputArg::Thermometer => InputKind::Thermometer,
        }),
        levels: args.levels,
        tie_break: args.tie_break.map(|t| match t {
            TieArg::End => TieBreak::PotentialAtEnd,
            TieArg::Decision => TieBreak::PotentialAtDecision,
        }),
        sparsity: args.sparsity.map(|m| match m {
            SparsityArg::None => SparsityMethod::None,
            SparsityArg::Count => SparsityMethod::SpikeCount,
            SparsityArg::MSsr => SparsityMethod::MSsr,
            SparsityArg::FSsr => SparsityMethod::FSsr,
        }),
        gamma: args.gamma,
        xi: args.xi.clone(),
        margin: args.margin,
        target_rate: args.target_rate,
        crop_pad: args.crop_pad,
        train_limit: args.train_limit,
        test_limit: args.test_limit,
        validation: args.validation,
        init_from: args.from.clone(),
        prune: args.prune.clone(),
        quantize: None,
    }
}
