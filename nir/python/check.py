"""The NIR check of `.ci/run`: ttfs against the reference forward pass (reference.py), two
independent paths over the same files, with the `nir` package from the registry.

- Every shipped model exported with `ttfs export` loads with `nir.read`, and the reference's
  accuracy on the first 1,000 test images equals the float accuracy `ttfs compile` reports.
- Each file of fixtures/nir/ (written by numpy with nir 1.0.8, by Sinabs with nir 1.0.4)
  compiles for its target, and the reference's accuracy equals the compile's float accuracy.
- The numpy network, whose numbers are the chip's integers, runs on the emulator against the
  golden model on all 10,000 test images, and the emulator's decisions equal the reference's,
  image by image.

    python nir/python/check.py [--ttfs target/debug/ttfs] [--bless]

It also compares its table with the README's copy (`--bless` writes it there).

Run from the repository root, after `cargo test` (which builds target/debug/ttfs).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = "fixtures/mnist"
FASHION = "../shared/data/fashion-mnist"
#: Images of each float comparison (`ttfs compile`'s default --limit).
CALIBRATION = 1000

#: Files written by other tools: (file, import flags, target).
FOREIGN = [
    ("fixtures/nir/numpy-mlp.nir", ["-T", "4"], "loihi"),
    ("fixtures/nir/sinabs-mlp.nir", ["-T", "4"], "loihi"),
    ("fixtures/nir/sinabs-cnn.nir", ["-T", "4"], "loihi"),
]
#: The README line after which its copy of the table stands.
README_MARKER = "Its table, as the check prints it"
#: The file whose emulated decisions must equal the reference's on every image.
EXACT = "fixtures/nir/numpy-mlp.nir"


def run(cmd):
    """Runs a command; its failure ends the check with its output."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{done.stdout}{done.stderr}")
    return done.stdout


def reference(path, data, limit, flags):
    """The reference's decisions and accuracy."""
    out = run(
        [sys.executable, os.path.join(HERE, "reference.py"), path, "--data", data, "--json"]
        + (["--limit", str(limit)] if limit else [])
        + flags
    )
    return json.loads(out)


def compile_float(ttfs, path, target, data, flags, out):
    """`ttfs compile`'s float accuracy on the first CALIBRATION test images."""
    config = os.path.join(out, os.path.basename(path) + f".{target}.bin")
    run([ttfs, "compile", path, "--target", target, "-o", config, "--data", data] + flags)
    with open(config[: -len(".bin")] + ".map.json") as f:
        return json.load(f)["evaluation"]["float_accuracy"], config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ttfs", default="target/debug/ttfs")
    parser.add_argument("--bless", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    failures = []
    rows = []
    with tempfile.TemporaryDirectory() as out:
        models = sorted(f for f in os.listdir("fixtures/models") if f.endswith(".safetensors"))
        for name in models:
            data = FASHION if name.startswith("fashion") else MNIST
            if not os.path.isdir(data):
                print(f"skipped {name}: no {data} (the Fashion-MNIST files)")
                continue
            nir_path = os.path.join(out, name.replace(".safetensors", ".nir"))
            run([args.ttfs, "export", f"fixtures/models/{name}", "--nir", nir_path])
            ttfs_acc, _ = compile_float(args.ttfs, nir_path, "loihi", data, [], out)
            ref = reference(nir_path, data, CALIBRATION, [])
            rows.append((f"ttfs export of {name}", ttfs_acc, ref["accuracy"]))
        for path, flags, target in FOREIGN:
            ttfs_acc, config = compile_float(args.ttfs, path, target, MNIST, flags, out)
            ref = reference(path, MNIST, CALIBRATION, flags)
            rows.append((f"{path} on {target}", ttfs_acc, ref["accuracy"]))
            if path != EXACT:
                continue
            run_dir = os.path.join(out, "run")
            run(
                [args.ttfs, "run", config, "--golden", path, "--limit", "0", "-o", run_dir]
                + flags
            )
            report = os.path.join(run_dir, os.path.basename(config)[: -len(".bin")] + ".run.json")
            with open(report) as f:
                emulated = json.load(f)
            ref = reference(path, MNIST, 0, flags)
            differ = [
                i
                for i, (a, b) in enumerate(zip(emulated["per_inference"]["decision"], ref["decisions"]))
                if a != b
            ]
            rows.append((f"{path} emulated, 10000 images", emulated["accuracy"], ref["accuracy"]))
            if differ or len(ref["decisions"]) != emulated["images"]:
                failures.append(f"{path}: emulator and reference decide differently on images {differ[:10]}")
    width = max(len(r[0]) for r in rows)
    table = [f"{'NIR file':<{width}}  {'ttfs':>7}  {'reference':>9}"]
    for what, ours, theirs in rows:
        mark = "" if ours == theirs else "  <- differs"
        table.append(f"{what:<{width}}  {100 * ours:6.2f}%  {100 * theirs:8.2f}%{mark}")
        if ours != theirs:
            failures.append(f"{what}: ttfs {ours}, reference {theirs}")
    print("\n".join(table))
    if failures:
        sys.exit("FAILED:\n" + "\n".join(failures))
    readme_table(table, args.bless)
    print(f"all {len(rows)} agree")


def readme_table(table, bless):
    """Compares the table with the README's (the `text` block after README_MARKER); with
    `bless`, writes it there instead."""
    with open("README.md") as f:
        readme = f.read()
    at = readme.index(README_MARKER)
    start = readme.index("```text\n", at) + len("```text\n")
    end = readme.index("```", start)
    shown = readme[start:end]
    ours = "\n".join(table) + "\n"
    if bless:
        with open("README.md", "w") as f:
            f.write(readme[:start] + ours + readme[end:])
    elif shown != ours:
        sys.exit(
            "FAILED: the README's NIR table differs from the check's; review and re-bless with "
            "`python nir/python/check.py --bless`"
        )


if __name__ == "__main__":
    main()
