"""ttfs from Python: compile time-to-first-spike SNNs for neuromorphic chips and run them on
the cycle-accurate emulator, numpy in and out.

The package calls the same Rust library as the ``ttfs`` command line: the same model reader
(safetensors and NIR), compiler, emulator, energy model and golden check, and raises the same
one-line messages as exceptions (``ttfs.Error`` and its subclasses).

>>> import ttfs
>>> images, labels = ttfs.load_idx("fixtures/mnist")
>>> chip = ttfs.Model.load("fixtures/models/mnist-cnn.safetensors").compile(
...     ttfs.Target.load("loihi"), images, labels)
>>> report = ttfs.run(chip, images[:1000], labels[:1000], golden=True)
"""

from ._ttfs import (
    CompileError,
    Compiled,
    Error,
    FitError,
    FormatError,
    InputError,
    Model,
    RunError,
    RunReport,
    Target,
    __version__,
    explore,
    load_idx,
    run,
)

__all__ = [
    "CompileError",
    "Compiled",
    "Error",
    "FitError",
    "FormatError",
    "InputError",
    "Model",
    "RunError",
    "RunReport",
    "Target",
    "__version__",
    "explore",
    "load_idx",
    "run",
]
