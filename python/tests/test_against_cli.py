"""Each call against the CLI's JSON for the same inputs, figure for figure."""

import numpy as np

import ttfs
from conftest import read_json, same_report, without

MLP = "fixtures/models/mnist-mlp-pruned.safetensors"


def test_idx_arrays_are_the_files_images(mnist):
    images, labels = mnist
    assert images.dtype == np.uint8 and images.shape == (10000, 28, 28)
    assert labels.dtype == np.uint8 and labels.shape == (10000,)
    # MNIST's first test image is a 7; its pixels are grey levels 0-255.
    assert labels[0] == 7 and images[0].max() == 255


def test_target_fields_are_the_json_file(repo, loihi):
    shipped = read_json(repo / "fixtures/targets/loihi.json")
    ours = loihi.to_dict()
    # Every field of the file, as written (the description adds the defaults of fields the
    # file leaves out).
    for section, value in shipped.items():
        if isinstance(value, dict):
            assert {k: ours[section][k] for k in value} == value, section
        else:
            assert ours[section] == value, section
    assert loihi.core == shipped["core"] and loihi.mesh == shipped["mesh"]
    assert loihi.cores == shipped["mesh"]["cols"] * shipped["mesh"]["rows"]
    assert sorted(ttfs.Target.shipped()) == sorted(
        p.stem for p in (repo / "fixtures/targets").glob("*.json")
    )
    for name in ttfs.Target.shipped():
        by_path = ttfs.Target.load(repo / "fixtures/targets" / f"{name}.json")
        assert ttfs.Target.load(name).hash == by_path.hash


def test_compile_equals_ttfs_compile(cli, repo, tmp_path, mnist, loihi):
    images, labels = mnist
    out = tmp_path / "mlp.bin"
    cli("compile", MLP, "--target", "loihi", "-o", out, "--limit", "500")
    chip = ttfs.Model.load(repo / MLP).compile(loihi, images, labels, limit=500)
    assert chip.config_bytes == out.read_bytes()
    written = read_json(tmp_path / "mlp.map.json")
    ours = chip.to_dict()
    skip = ("model", "config", "config_bytes", "pass_seconds")
    assert without(ours, *skip) == without(written, *skip)
    assert chip.cores == written["mapping"]["cores_used"]
    assert chip.float_accuracy == written["evaluation"]["float_accuracy"]
    assert chip.golden_accuracy == written["evaluation"]["golden_accuracy"]
    assert chip.synapses == sum(l["synapses"] for l in written["mapping"]["layers"])
    chip.save(tmp_path / "saved.bin")
    assert (tmp_path / "saved.bin").read_bytes() == out.read_bytes()


def test_run_equals_ttfs_run(cli, repo, tmp_path, mnist, loihi):
    images, labels = mnist
    out = tmp_path / "mlp.bin"
    cli("compile", MLP, "--target", "loihi", "-o", out)
    cli("run", out, "--golden", MLP, "--limit", "300")
    written = read_json(tmp_path / "mlp.run.json")
    model = ttfs.Model.load(repo / MLP)
    chip = model.compile(loihi, images, labels)
    assert chip.config_bytes == out.read_bytes()
    for compiled, golden in [(chip, True), (out, model)]:
        report = ttfs.run(compiled, images[:300], labels[:300], golden=golden)
        same_report(report.to_dict(), written)
        per = written["per_inference"]
        assert report.decision.tolist() == per["decision"]
        assert report.decision_step.tolist() == [-1 if s is None else s for s in per["decision_step"]]
        assert report.latency_cycles.tolist() == per["cycles"]
        assert report.energy_pj.tolist() == per["energy_pj"]
        assert report.accuracy == written["accuracy"]
        assert report.energy_nj == written["energy"]["total_nj"]
        assert report.golden_equal is True
        assert sum(report.energy_breakdown.values()) == written["energy"]["total_pj"] or abs(
            sum(report.energy_breakdown.values()) - written["energy"]["total_pj"]
        ) < 1e-9 * written["energy"]["total_pj"]


def test_early_exit_and_images_with_a_channel_axis(cli, repo, tmp_path, mnist, loihi):
    images, labels = mnist
    out = tmp_path / "mlp.bin"
    cli("compile", MLP, "--target", "loihi", "-o", out)
    cli("run", out, "--limit", "200", "--early-exit=auto")
    written = read_json(tmp_path / "mlp.run.json")
    report = ttfs.run(out, images[:200, None], labels[:200], early_exit="auto")
    same_report(report.to_dict(), written)
    assert report.early_exit == written["early_exit"]


def test_the_result_is_the_same_on_any_number_of_threads(repo, mnist, loihi):
    images, labels = mnist
    chip = ttfs.Model.load(repo / MLP).compile(loihi)
    one = ttfs.run(chip, images[:200], labels[:200], threads=1)
    two = ttfs.run(chip, images[:200], labels[:200], threads=2)
    assert one.timing["threads"] == 1 and two.timing["threads"] == 2
    assert without(one.to_dict(), "timing") == without(two.to_dict(), "timing")


def test_without_labels_there_is_no_accuracy(repo, mnist, loihi):
    images, labels = mnist
    chip = ttfs.Model.load(repo / MLP).compile(loihi)
    blind = ttfs.run(chip, images[:50])
    seen = ttfs.run(chip, images[:50], labels[:50])
    assert blind.accuracy is None and blind.correct is None
    assert blind.decision.tolist() == seen.decision.tolist()
    assert seen.accuracy == np.mean(seen.decision == labels[:50])


def test_explore_equals_ttfs_explore(cli, repo, tmp_path, mnist):
    images, labels = mnist
    models = ["fixtures/models/mnist-mlp.safetensors", MLP]
    cli("explore", *models, "--targets", "loihi,speck", "--images", "200", "--calibrate", "200",
        "--early-exit", "off", "--run-dir", tmp_path)
    written = read_json(tmp_path / "explore.json")
    written = written["points"] if isinstance(written, dict) else written
    points = ttfs.explore(
        [ttfs.Model.load(repo / m) for m in models],
        [ttfs.Target.load("loihi"), ttfs.Target.load("speck")],
        images, labels, limit=200,
    )
    key = lambda p: (p["model"].split("/")[-1], p["target"])
    assert sorted(map(key, points)) == sorted(map(key, written))
    by_key = {key(p): p for p in written}
    for p in points:
        w = by_key[key(p)]
        for field in ("accuracy", "energy_nj", "ann_nj", "sparse_ann_nj", "latency_us",
                      "steps_run", "synaptic_ops", "neuron_updates", "cores", "golden_equal",
                      "dominated"):
            assert p[field] == w[field], (key(p), field)
        assert (p["refused"] is None) == (w["refused"] is None), key(p)
        if p["refused"] is not None:
            assert p["refused"] in w["refused"]
