"""Every error type, with the CLI's one-line message where the CLI can be given the same input;
arrays of the wrong dtype, shape or size refused with a clear message."""

import numpy as np
import pytest

import ttfs

MLP = "fixtures/models/mnist-mlp-pruned.safetensors"


def cli_error(cli, *args):
    done = cli(*args, check=False)
    assert done.returncode != 0
    lines = [l for l in done.stderr.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1, done.stderr
    return lines[0][len("error: "):]


def test_every_error_is_a_ttfs_error():
    for kind in (ttfs.FormatError, ttfs.FitError, ttfs.CompileError, ttfs.InputError,
                 ttfs.RunError):
        assert issubclass(kind, ttfs.Error) and issubclass(kind, Exception)


def test_a_file_that_is_no_model_says_what_the_cli_says(cli, repo, tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(ttfs.FormatError) as raised:
        ttfs.Model.load(bad)
    assert str(raised.value) == cli_error(cli, "compile", bad, "--target", "loihi", "-o",
                                          tmp_path / "x.bin")
    with pytest.raises(ttfs.FormatError, match="no such file"):
        ttfs.Model.load(tmp_path / "missing.safetensors")


def test_a_nir_graph_the_chip_cannot_run_names_the_node(cli, repo, tmp_path):
    fixture = repo / "fixtures/nir/numpy-mlp.nir"
    with pytest.raises(ttfs.FormatError) as raised:
        ttfs.Model.load(fixture)  # no steps: a foreign graph carries no T
    assert str(raised.value) == cli_error(cli, "compile", fixture, "--target", "loihi", "-o",
                                          tmp_path / "x.bin")
    with pytest.raises(ttfs.InputError, match="dt 0 is not a positive number"):
        ttfs.Model.load(fixture, steps=4, dt=0.0)
    with pytest.raises(ttfs.InputError, match="levels applies to the thermometer input only"):
        ttfs.Model.load(fixture, steps=4, levels=3)
    with pytest.raises(ttfs.InputError, match="input 'rate'"):
        ttfs.Model.load(fixture, steps=4, input="rate")


def test_a_bad_target_names_the_field(cli, repo, tmp_path):
    text = (repo / "fixtures/targets/loihi.json").read_text()
    bad = tmp_path / "chip.json"
    bad.write_text(text.replace('"weight_bits": 8', '"weight_bits": 99'))
    with pytest.raises(ttfs.FormatError) as raised:
        ttfs.Target.load(bad)
    assert "weight_bits" in str(raised.value)
    assert str(raised.value) in cli_error(cli, "compile", MLP, "--target", bad, "-o",
                                          tmp_path / "x.bin")
    with pytest.raises(ttfs.InputError, match="neither a file nor a shipped target"):
        ttfs.Target.load("loihi-2")


def test_a_model_too_big_for_the_chip_is_a_fit_error(cli, repo, tmp_path):
    cnn = "fixtures/models/mnist-cnn-pruned.safetensors"
    with pytest.raises(ttfs.FitError) as raised:
        ttfs.Model.load(repo / cnn).compile(ttfs.Target.load("tiny"))
    assert str(raised.value) == cli_error(cli, "compile", cnn, "--target", "tiny", "--limit",
                                          "0", "-o", tmp_path / "x.bin").replace(cnn, str(repo / cnn))


def test_a_model_the_compiler_refuses_is_a_compile_error(cli, repo, tmp_path):
    dense = "fixtures/models/mnist-mlp.safetensors"
    with pytest.raises(ttfs.CompileError) as raised:
        ttfs.Model.load(repo / dense).compile(ttfs.Target.load("speck"))
    assert str(raised.value) == cli_error(cli, "compile", dense, "--target", "speck", "--limit",
                                          "0", "-o", tmp_path / "x.bin").replace(dense, str(repo / dense))


def test_a_configuration_on_another_target_is_a_run_error(repo, mnist, loihi):
    images, _ = mnist
    chip = ttfs.Model.load(repo / MLP).compile(loihi)
    with pytest.raises(ttfs.RunError, match="compiled for target"):
        ttfs.run(chip, images[:5], target=ttfs.Target.load("truenorth"))


def test_corrupt_configuration_bytes_are_a_format_error(cli, repo, tmp_path, mnist, loihi):
    images, _ = mnist
    chip = ttfs.Model.load(repo / MLP).compile(loihi)
    damaged = bytearray(chip.config_bytes)
    damaged[len(damaged) // 2] ^= 0xFF
    path = tmp_path / "damaged.bin"
    path.write_bytes(bytes(damaged))
    with pytest.raises(ttfs.FormatError) as raised:
        ttfs.run(path, images[:5])
    assert str(raised.value) == cli_error(cli, "run", path, "--limit", "5")


@pytest.mark.parametrize(
    "images, message",
    [
        (lambda x: x.astype(np.float32), "images: dtype float32, expected a uint8 numpy array"),
        (lambda x: x.tolist(), "images: a list, not a numpy array"),
        (lambda x: x[:, :27], r"images: shape \[5, 27, 28\], expected \[N, 1, 28, 28\] or \[N, 28, 28\]"),
        (lambda x: x.reshape(5, 784), r"images: shape \[5, 784\]"),
        (lambda x: x[:0], r"images: no images"),
    ],
)
def test_wrong_images_are_refused(repo, mnist, loihi, images, message):
    pixels, labels = mnist
    model = ttfs.Model.load(repo / MLP)
    chip = model.compile(loihi)
    with pytest.raises(ttfs.InputError, match=message):
        ttfs.run(chip, images(pixels[:5]), labels[:5])
    with pytest.raises(ttfs.InputError, match=message):
        model.compile(loihi, images(pixels[:5]), labels[:5])


def test_wrong_labels_and_settings_are_refused(repo, mnist, loihi):
    images, labels = mnist
    chip = ttfs.Model.load(repo / MLP).compile(loihi)
    with pytest.raises(ttfs.InputError, match=r"labels: shape \[4\], expected \[5\]"):
        ttfs.run(chip, images[:5], labels[:4])
    with pytest.raises(ttfs.InputError, match="labels: dtype float64"):
        ttfs.run(chip, images[:5], labels[:5].astype(float))
    with pytest.raises(ttfs.InputError, match=r"labels\[1\] is 300, expected 0 to 255"):
        ttfs.run(chip, images[:2], np.array([1, 300]))
    with pytest.raises(ttfs.InputError, match="threads must be at least 1"):
        ttfs.run(chip, images[:5], threads=0)
    with pytest.raises(ttfs.InputError, match="early_exit"):
        ttfs.run(chip, images[:5], early_exit="sometimes")
    with pytest.raises(ttfs.InputError, match="labels are needed with images"):
        ttfs.Model.load(repo / MLP).compile(loihi, images[:5])
    with pytest.raises(ttfs.InputError, match="pool_lowering 'max'"):
        ttfs.Model.load(repo / MLP).compile(loihi, pool_lowering="max")


def test_golden_true_needs_the_compiled_network(repo, tmp_path, mnist, loihi):
    images, _ = mnist
    chip = ttfs.Model.load(repo / MLP).compile(loihi)
    chip.save(tmp_path / "c.bin")
    with pytest.raises(ttfs.InputError, match="golden=True needs a Compiled"):
        ttfs.run(tmp_path / "c.bin", images[:5], golden=True)
    with pytest.raises(ttfs.InputError, match="golden: expected a bool or a Model"):
        ttfs.run(chip, images[:5], golden=3)
    other = ttfs.Model.load(repo / "fixtures/models/mnist-mlp-sparse.safetensors")
    with pytest.raises(ttfs.InputError, match="golden: "):
        ttfs.run(chip, images[:5], golden=other)
