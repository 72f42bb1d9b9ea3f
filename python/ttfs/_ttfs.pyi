"""Type stubs of the extension module `ttfs._ttfs` (re-exported by `ttfs`)."""

import os
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, os.PathLike[str]]

class Error(Exception):
    """Every error ttfs raises: one line naming the file, field, node or layer and the limit."""

class FormatError(Error):
    """A file or bytes that are not what they should be: a model, a NIR graph, a target, a configuration."""

class FitError(Error):
    """A model that does not fit a target (cores, synapses, fan-in, bit widths)."""

class CompileError(Error):
    """A model the compiler refuses for a reason other than fit."""

class InputError(Error):
    """An argument of the wrong type, dtype, shape, size or value."""

class RunError(Error):
    """A run the emulator or the golden model refused."""

class Target:
    """A chip: its mesh of cores, what one core holds, the neuron circuit, timing and energy."""

    @staticmethod
    def load(name_or_path: PathLike) -> Target:
        """A shipped target by name (``Target.shipped()``) or a JSON target description."""
    @staticmethod
    def shipped() -> list[str]:
        """The names of the shipped targets."""
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def sources(self) -> list[str]: ...
    @property
    def cores(self) -> int:
        """Cores on the mesh."""
    @property
    def hash(self) -> int:
        """The hash a configuration compiled for this target records."""
    @property
    def mesh(self) -> dict[str, int]: ...
    @property
    def core(self) -> dict[str, Any]: ...
    @property
    def neuron(self) -> dict[str, Any]: ...
    @property
    def timing_cycles(self) -> dict[str, Any]: ...
    @property
    def energy_pj(self) -> dict[str, Any]: ...
    def to_dict(self) -> dict[str, Any]:
        """The whole description (the JSON file's fields)."""

class Model:
    """A trained network, ready to compile for a target."""

    @staticmethod
    def load(
        path: PathLike,
        *,
        steps: Optional[int] = None,
        dt: float = 1.0,
        input: Optional[Literal["latency", "thermometer"]] = None,
        levels: Optional[int] = None,
        tie_break: Optional[Literal["end", "decision"]] = None,
        dataset: Optional[str] = None,
    ) -> Model:
        """A model file written by ``ttfs train`` (safetensors) or a NIR file."""
    @staticmethod
    def from_nir(
        graph: Any,
        *,
        name: str = "nir",
        steps: Optional[int] = None,
        dt: float = 1.0,
        input: Optional[Literal["latency", "thermometer"]] = None,
        levels: Optional[int] = None,
        tie_break: Optional[Literal["end", "decision"]] = None,
        dataset: Optional[str] = None,
    ) -> Model:
        """An in-memory ``nir.NIRGraph`` (needs the ``nir`` package)."""
    @property
    def arch(self) -> str: ...
    @property
    def dataset(self) -> str: ...
    @property
    def time_steps(self) -> int: ...
    @property
    def input_shape(self) -> list[int]: ...
    @property
    def digest(self) -> str: ...
    def description(self) -> dict[str, Any]: ...
    def compile(
        self,
        target: Target,
        images: Optional[npt.NDArray[np.uint8]] = None,
        labels: Optional[npt.NDArray[np.integer[Any]]] = None,
        *,
        limit: int = 1000,
        pool_lowering: Literal["shared_axons", "synapses"] = "shared_axons",
    ) -> Compiled:
        """Fold, quantize, map and check every hardware limit; calibrate on ``images[:limit]``."""

class Compiled:
    """A model compiled for a target: the configuration and the compile report."""

    @property
    def config_bytes(self) -> bytes: ...
    def save(self, path: PathLike) -> None: ...
    @property
    def target(self) -> str: ...
    @property
    def cores(self) -> int: ...
    @property
    def synapses(self) -> int: ...
    @property
    def layers(self) -> list[dict[str, Any]]: ...
    @property
    def quantization(self) -> list[dict[str, Any]]: ...
    @property
    def evaluation(self) -> Optional[dict[str, Any]]: ...
    @property
    def float_accuracy(self) -> Optional[float]: ...
    @property
    def golden_accuracy(self) -> Optional[float]: ...
    def to_dict(self) -> dict[str, Any]: ...

class RunReport:
    """What a run measured; per-inference figures are numpy arrays."""

    @property
    def images(self) -> int: ...
    @property
    def accuracy(self) -> Optional[float]: ...
    @property
    def correct(self) -> Optional[int]: ...
    @property
    def time_steps(self) -> int: ...
    @property
    def early_exit(self) -> bool: ...
    @property
    def energy_nj(self) -> float:
        """Mean energy per inference, nJ."""
    @property
    def energy_breakdown(self) -> dict[str, float]: ...
    @property
    def latency(self) -> dict[str, Any]: ...
    @property
    def counters(self) -> dict[str, Any]: ...
    @property
    def layers(self) -> list[dict[str, Any]]: ...
    @property
    def ann(self) -> dict[str, Any]: ...
    @property
    def single_spike(self) -> dict[str, Any]: ...
    @property
    def golden(self) -> Optional[dict[str, Any]]: ...
    @property
    def golden_equal(self) -> Optional[bool]: ...
    @property
    def timing(self) -> dict[str, Any]: ...
    @property
    def decision(self) -> npt.NDArray[np.int64]: ...
    @property
    def decision_step(self) -> npt.NDArray[np.int64]: ...
    @property
    def latency_cycles(self) -> npt.NDArray[np.uint64]: ...
    @property
    def energy_pj(self) -> npt.NDArray[np.float64]: ...
    @property
    def labels(self) -> npt.NDArray[np.uint8]: ...
    def to_dict(self) -> dict[str, Any]:
        """Key for key what ``ttfs run`` writes to ``run.json``."""

def run(
    compiled: Union[Compiled, PathLike],
    images: npt.NDArray[np.uint8],
    labels: Optional[npt.NDArray[np.integer[Any]]] = None,
    *,
    early_exit: Union[bool, Literal["auto", "on", "off", "anyway"], None] = None,
    golden: Union[bool, Model, None] = None,
    target: Optional[Target] = None,
    threads: Optional[int] = None,
) -> RunReport:
    """Run a configuration on the cycle-accurate emulator (GIL released; Ctrl-C stops it)."""

def explore(
    models: Sequence[Model],
    targets: Sequence[Target],
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.integer[Any]],
    *,
    limit: int = 1000,
    threads: Optional[int] = None,
) -> list[dict[str, Any]]:
    """Every model on every target, compiled, run against its golden model, Pareto-marked."""

def load_idx(
    folder: PathLike, split: Literal["test", "train"] = "test"
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """A split of IDX files as ``uint8`` images ``[N, rows, cols]`` and labels ``[N]``."""
