//! What a ttfs export says in the graph's `metadata` that NIR itself cannot: one home for the
//! keys, so the exporter writes and the importer reads the same ones. Each value is a plain
//! string or number, stated so a reader of the file can reimplement the network without ttfs.

/// The format of these keys (1).
pub const FORMAT: &str = "ttfs.format";
/// The whole model description (JSON, the compiler's model format without its tensors): what
/// an import of a ttfs export restores exactly (T, input coding, decoding, training summary).
pub const DESCRIPTION: &str = "ttfs.description";
/// The network's digest (`Model::digest`), 16 hex digits.
pub const MODEL_DIGEST: &str = "ttfs.model_digest";
/// Time steps T of one inference.
pub const TIME_STEPS: &str = "ttfs.time_steps";
/// What one step is.
pub const STEP: &str = "ttfs.step";
/// The single-spike rule.
pub const SINGLE_SPIKE: &str = "ttfs.single_spike";
/// When a neuron fires.
pub const THRESHOLD_RULE: &str = "ttfs.threshold_rule";
/// The input coding's name: `latency` or `thermometer`.
pub const INPUT_CODING: &str = "ttfs.input_coding";
/// The input coding's exact integer rule.
pub const INPUT_RULE: &str = "ttfs.input_rule";
/// Thermometer levels K (thermometer coding only).
pub const INPUT_LEVELS: &str = "ttfs.input_levels";
/// The decision rule.
pub const DECISION: &str = "ttfs.decision";
/// The tie break: `decision_step` or `end`.
pub const TIE_BREAK: &str = "ttfs.tie_break";
/// For an export of a compiled network: the target it was compiled for and its widths.
pub const QUANTIZED_FOR: &str = "ttfs.quantized_for";

/// The texts of the rules, as an export states them.
pub mod rules {
    /// [`super::STEP`].
    pub const STEP: &str = "one discrete time step per NIR step (dt = 1): every node advances \
        once per step, in graph order, and a layer sees the previous layer's spikes of the same \
        step; an IF with r = 1 adds its input current to v once per step, with no leak";
    /// [`super::SINGLE_SPIKE`].
    pub const SINGLE_SPIKE: &str = "every neuron fires at most once per inference: a hidden \
        neuron is frozen after its spike (v_reset then never matters); an output neuron fires \
        once but keeps integrating, so the tie break can read its potential";
    /// [`super::THRESHOLD_RULE`].
    pub const THRESHOLD_RULE: &str = "a neuron fires at the first step with v >= v_threshold \
        (NIR's IF fires when v > v_threshold)";
    /// [`super::INPUT_RULE`] for latency coding.
    pub const LATENCY: &str = "pixel p (0-255) > 0 spikes once, at step \
        1 + floor(((255 - p) (T - 1) + 127) / 255); p = 0 never spikes";
    /// [`super::INPUT_RULE`] for thermometer coding.
    pub const THERMOMETER: &str = "pixel p (0-255) owns K input lines; the first \
        floor((2 p K + 255) / 510) of them spike once, at step 1; the first layer's current \
        persists, so its neurons integrate W n / K at every step";
    /// [`super::DECISION`] with the tie break at the decision step.
    pub const DECISION_AT_DECISION: &str = "the class whose output neuron fires first; outputs \
        firing at that first step (or every output, if none fires) are ordered by the larger \
        potential after the decision step, then the lower class index";
    /// [`super::DECISION`] with the tie break after the last step.
    pub const DECISION_AT_END: &str = "the class whose output neuron fires first; outputs \
        firing at that first step (or every output, if none fires) are ordered by the larger \
        potential after the last step, then the lower class index";
}
