//! The verifiers of the IR: the invariants every pass may rely on, checked in one place.
//!
//! The compile driver runs [`FoldedNetwork::verify`] after `lower` and [`QuantNetwork::verify`]
//! after `quantize`, naming the pass in its error, so a broken invariant is caught where it was
//! introduced; the passes themselves do not check their input again. The golden model runs
//! [`QuantNetwork::verify`] on any network it is handed, so it never indexes out of bounds.

use super::{FoldedNetwork, QuantNetwork, Routing, SynapseMatrix};

/// A broken invariant: where (a layer's name, or `the network`) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{layer}: {reason}")]
pub struct IrError {
    /// The layer's name, or `the network` for a network-wide value.
    pub layer: String,
    /// What is wrong, as a sentence fragment.
    pub reason: String,
}

impl IrError {
    fn network(reason: impl Into<String>) -> Self {
        Self {
            layer: "the network".to_owned(),
            reason: reason.into(),
        }
    }

    fn layer(name: &str, reason: impl Into<String>) -> Self {
        Self {
            layer: name.to_owned(),
            reason: reason.into(),
        }
    }
}

impl<W> SynapseMatrix<W> {
    /// Checks the compressed rows: `axons x targets`, `axons + 1` monotone offsets from 0 to
    /// the number of synapses, one weight per synapse, and each row's targets in range and
    /// strictly increasing. The error is a sentence fragment.
    pub fn verify(&self, axons: usize, targets: usize) -> Result<(), String> {
        if self.axons != axons || self.targets != targets {
            return Err(format!(
                "synapses are {}x{} (axons x targets), expected {axons}x{targets}",
                self.axons, self.targets
            ));
        }
        let offsets_ok = self.offsets.len() == axons + 1
            && self.offsets.first() == Some(&0)
            && self.offsets.windows(2).all(|w| w[0] <= w[1])
            && self.offsets.last() == Some(&self.target.len())
            && self.weight.len() == self.target.len();
        if !offsets_ok {
            return Err("synapse offsets are inconsistent".to_owned());
        }
        if let Some(t) = self.target.iter().find(|&&t| t as usize >= targets) {
            return Err(format!("a synapse targets neuron {t} of {targets}"));
        }
        for (j, row) in self.offsets.windows(2).enumerate() {
            if let Some(w) = self.target[row[0]..row[1]]
                .windows(2)
                .find(|w| w[0] >= w[1])
            {
                return Err(format!(
                    "the synapses of axon {j} are not in increasing target order \
                     (neuron {} follows neuron {})",
                    w[1], w[0]
                ));
            }
        }
        Ok(())
    }
}

impl Routing {
    /// Checks that the routing serves `sources` sources and reaches only axons below `axons`:
    /// one axon per source for [`Routing::Direct`]; for shared axons, `sources + 1` monotone
    /// offsets and each source's axons in range and in increasing order. The error is a
    /// sentence fragment.
    pub fn verify(&self, sources: usize, axons: usize) -> Result<(), String> {
        let Routing::Shared(shared) = self else {
            return if sources == axons {
                Ok(())
            } else {
                Err(format!(
                    "has {axons} axons for {sources} sources, one each without shared axons"
                ))
            };
        };
        let offsets_ok = shared.offsets.len() == sources + 1
            && shared.offsets.first() == Some(&0)
            && shared.offsets.windows(2).all(|w| w[0] <= w[1])
            && shared.offsets.last() == Some(&shared.axon.len());
        if !offsets_ok {
            return Err(format!(
                "the shared-axon offsets are inconsistent for {sources} sources"
            ));
        }
        if let Some(a) = shared.axon.iter().find(|&&a| a as usize >= axons) {
            return Err(format!("a source routes to axon {a} of {axons}"));
        }
        for (j, row) in shared.offsets.windows(2).enumerate() {
            if let Some(w) = shared.axon[row[0]..row[1]].windows(2).find(|w| w[0] > w[1]) {
                return Err(format!(
                    "the axons of source {j} are not in increasing order (axon {} follows axon {})",
                    w[1], w[0]
                ));
            }
        }
        Ok(())
    }
}

impl FoldedNetwork {
    /// Checks what quantization relies on: at least one layer and one time step, a positive
    /// finite threshold, and per layer at least one neuron, one bias per neuron, synapses from
    /// the layer before ([`SynapseMatrix::verify`]), and finite weights and biases.
    ///
    /// # Errors
    /// [`IrError`] naming the layer and the first broken invariant.
    pub fn verify(&self) -> Result<(), IrError> {
        if self.layers.is_empty() {
            return Err(IrError::network("has no neuron layer"));
        }
        if self.time_steps == 0 {
            return Err(IrError::network("has 0 time steps"));
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(IrError::network(format!(
                "threshold is {}, must be positive and finite",
                self.threshold
            )));
        }
        let mut sources = self.input.channels();
        for layer in &self.layers {
            let bad = |reason: String| IrError::layer(&layer.name, reason);
            let n = layer.neurons();
            if n == 0 {
                return Err(bad("has no neurons".to_owned()));
            }
            layer
                .synapses
                .verify(layer.synapses.axons, n)
                .map_err(bad)?;
            layer
                .routing
                .verify(sources, layer.synapses.axons)
                .map_err(bad)?;
            if layer.synapses.weight.iter().any(|w| !w.is_finite()) {
                return Err(bad("has a weight that is not finite".to_owned()));
            }
            if layer.bias.iter().any(|b| !b.is_finite()) {
                return Err(bad("has a bias that is not finite".to_owned()));
            }
            sources = n;
        }
        Ok(())
    }
}

impl QuantNetwork {
    /// Checks what the golden model and the mapper index by: register widths of 2 to 32 bits,
    /// a decay resolution of at most 24 bits, at least one time step, a non-empty output layer,
    /// and per layer one bias per neuron, synapses from the layer before
    /// ([`SynapseMatrix::verify`]) and decay factors within `2^D`.
    ///
    /// # Errors
    /// [`IrError`] naming the layer and the first broken invariant.
    pub fn verify(&self) -> Result<(), IrError> {
        let r = self.registers;
        for (name, bits) in [
            ("current_bits", r.current_bits),
            ("potential_bits", r.potential_bits),
        ] {
            if !(2..=32).contains(&bits) {
                return Err(IrError::network(format!(
                    "{name} is {bits}, must be between 2 and 32"
                )));
            }
        }
        if r.decay_bits > 24 {
            return Err(IrError::network(format!(
                "decay_bits is {}, must be at most 24",
                r.decay_bits
            )));
        }
        if self.time_steps == 0 {
            return Err(IrError::network("has 0 time steps"));
        }
        match self.layers.last() {
            None => return Err(IrError::network("has no neuron layer")),
            Some(l) if l.neurons() == 0 => {
                return Err(IrError::layer(&l.name, "no output neurons"));
            }
            Some(_) => {}
        }
        let one = 1u32 << r.decay_bits;
        let mut sources = self.input.channels();
        for l in &self.layers {
            let n = l.neurons();
            if l.bias.len() != n {
                return Err(IrError::layer(
                    &l.name,
                    format!("{} biases for {n} neurons", l.bias.len()),
                ));
            }
            let bad = |reason: String| IrError::layer(&l.name, reason);
            l.synapses.verify(l.synapses.axons, n).map_err(bad)?;
            l.routing.verify(sources, l.synapses.axons).map_err(bad)?;
            if l.params.du > one || l.params.dv > one {
                return Err(IrError::layer(
                    &l.name,
                    format!(
                        "decay factors du = {}, dv = {} exceed 2^D = {one}",
                        l.params.du, l.params.dv
                    ),
                ));
            }
            sources = n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_with_rows_out_of_order_or_out_of_range_is_refused() {
        let m = SynapseMatrix::from_fan_in(2, &[vec![(0u32, 1i32)], vec![(0, 2), (1, 3)]]);
        assert_eq!(m.verify(2, 2), Ok(()));
        assert_eq!(
            m.verify(3, 2),
            Err("synapses are 2x2 (axons x targets), expected 3x2".to_owned())
        );
        let mut swapped = m.clone();
        swapped.target.swap(0, 1);
        assert_eq!(
            swapped.verify(2, 2),
            Err(
                "the synapses of axon 0 are not in increasing target order (neuron 0 \
                 follows neuron 1)"
                    .to_owned()
            )
        );
        let mut far = m.clone();
        far.target[2] = 9;
        assert_eq!(
            far.verify(2, 2),
            Err("a synapse targets neuron 9 of 2".to_owned())
        );
        let mut short = m;
        short.offsets.pop();
        assert_eq!(
            short.verify(2, 2),
            Err("synapse offsets are inconsistent".to_owned())
        );
    }

    #[test]
    fn shared_axons_out_of_order_out_of_range_or_short_are_refused() {
        use crate::ir::SharedAxons;
        // Three sources: 0 -> axon 0, 1 -> axons 0 and 1 (twice), 2 -> none.
        let good = SharedAxons {
            offsets: vec![0, 1, 4, 4],
            axon: vec![0, 0, 1, 1],
        };
        assert_eq!(Routing::Shared(good.clone()).verify(3, 2), Ok(()));
        assert_eq!(
            Routing::Shared(good.clone()).verify(3, 1),
            Err("a source routes to axon 1 of 1".to_owned())
        );
        assert_eq!(
            Routing::Shared(good.clone()).verify(2, 2),
            Err("the shared-axon offsets are inconsistent for 2 sources".to_owned())
        );
        let mut swapped = good;
        swapped.axon.swap(1, 3);
        assert_eq!(
            Routing::Shared(swapped).verify(3, 2),
            Err(
                "the axons of source 1 are not in increasing order (axon 0 follows axon 1)"
                    .to_owned()
            )
        );
        assert_eq!(
            Routing::Direct.verify(3, 2),
            Err("has 2 axons for 3 sources, one each without shared axons".to_owned())
        );
        assert_eq!(Routing::Direct.verify(2, 2), Ok(()));
    }
}
