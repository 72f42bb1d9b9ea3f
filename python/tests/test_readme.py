"""The README's "From Python" scripts print what the README shows, and the first one what
`ttfs compile` + `ttfs run --golden` give for the same model, target and images."""

import re
import subprocess
import sys

import pytest

from conftest import read_json


def section(repo):
    text = (repo / "README.md").read_text()
    start = text.index("## From Python")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def scripts(repo):
    """Each ```python block of the section with the ```text block after it."""
    blocks = re.findall(r"```(python|text)\n(.*?)```", section(repo), re.S)
    pairs = []
    for (kind, body), (next_kind, shown) in zip(blocks, blocks[1:]):
        if kind == "python" and next_kind == "text":
            pairs.append((body, shown))
    return pairs


def test_the_section_has_its_two_scripts(repo):
    assert len(scripts(repo)) == 2
    # The first is the five-line script the README promises.
    assert len(scripts(repo)[0][0].strip().splitlines()) == 5


@pytest.mark.parametrize("index", [0, 1])
def test_each_script_prints_what_the_readme_shows(repo, index):
    script, shown = scripts(repo)[index]
    done = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown


def test_the_first_script_prints_what_ttfs_run_reports(repo, cli, tmp_path):
    _, shown = scripts(repo)[0]
    model = "fixtures/models/mnist-cnn.safetensors"
    cli("compile", model, "--target", "loihi", "-o", tmp_path / "cnn.bin")
    cli("run", tmp_path / "cnn.bin", "--golden", model, "--limit", "1000")
    run = read_json(tmp_path / "cnn.run.json")
    golden = run["golden"]
    equal = golden["spikes_equal"] == golden["compared"] == golden["decisions_equal"] == 1000
    expected = (
        f"{run['accuracy']:.2%} correct, {run['energy']['total_nj']:.1f} nJ per inference, "
        f"golden model equal: {equal}\n"
    )
    assert shown == expected
