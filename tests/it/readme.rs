//! The README's examples are what the program prints: every `$ ttfs ...` line of its `console`
//! blocks runs and its output is compared with the block, `[..]` standing for a part of a line
//! that changes from run to run and `...` for lines left out (trycmd). The commands run in a
//! temporary folder that holds the repository's `fixtures/` (a link), so their `runs/` is the
//! test's own and a user's `runs/` is left alone. After a change to the output, re-bless with
//! `TRYCMD=overwrite cargo test --test it readme` (the new output is copied back into the
//! repository's README.md) and review the diff.

#[test]
fn the_readme_shows_what_the_commands_print() {
    let repo = crate::common::repo("");
    let dir = tempfile::tempdir().unwrap();
    // trycmd runs a `X.md` case in the folder `X.in` beside it, when there is one.
    let readme = dir.path().join("README.md");
    let cwd = dir.path().join("README.in");
    std::fs::create_dir(&cwd).unwrap();
    std::fs::copy(repo.join("README.md"), &readme).unwrap();
    std::os::unix::fs::symlink(repo.join("fixtures"), cwd.join("fixtures")).unwrap();
    trycmd::TestCases::new()
        .register_bin("ttfs", std::path::Path::new(env!("CARGO_BIN_EXE_ttfs")))
        .register_bin("cat", std::path::Path::new("/bin/cat"))
        // Progress bars stay off (no terminal) and no colours.
        .env("NO_COLOR", "1")
        .case(&readme)
        .run();
    if std::env::var("TRYCMD").is_ok_and(|v| v == "overwrite") {
        std::fs::copy(&readme, repo.join("README.md")).unwrap();
    }
}

/// The README's table of shipped targets says, per shipped model, what the compiler says:
/// each cell is recomputed here by compiling the model for the target (no calibration) and
/// compared with the README's text.
#[test]
fn the_readme_target_table_says_which_shipped_models_fit() {
    use ttfs_compiler::compile::{CompileError, CompileOptions, compile};
    use ttfs_compiler::map::MapError;
    use ttfs_compiler::quantize::QuantizeError;

    let readme = std::fs::read_to_string(crate::common::repo("README.md")).unwrap();
    let mut rows = readme
        .lines()
        .skip_while(|l| !l.starts_with("| shipped |"))
        .take_while(|l| l.starts_with('|'));
    let cells = |line: &str| -> Vec<String> {
        line.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect()
    };
    let header = cells(rows.next().expect("the README has a `| shipped |` table"));
    // The model columns, after target, cores and per core; each names its model files.
    let models: Vec<(String, Vec<&str>)> = header[3..]
        .iter()
        .map(|name| {
            let files = match name.as_str() {
                "MNIST MLP" => vec!["mnist-mlp"],
                "sparse MLP" => vec!["mnist-mlp-sparse"],
                "pruned MLP" => vec!["mnist-mlp-pruned"],
                "4-bit MLP" => vec!["mnist-mlp-4bit"],
                "MNIST CNN" => vec!["mnist-cnn"],
                "pruned CNN" => vec!["mnist-cnn-pruned"],
                "Fashion MLP" => vec!["fashion-mlp-thermometer"],
                "Fashion CNN" => vec!["fashion-cnn-thermometer"],
                other => panic!("README target table: unknown model column {other:?}"),
            };
            (name.clone(), files)
        })
        .collect();
    let mut checked = 0;
    for line in rows.skip(1) {
        let row = cells(line);
        let target_name = row[0]
            .split('`')
            .nth(1)
            .expect("a target name in backticks");
        let target = crate::common::target(target_name);
        for ((column, files), cell) in models.iter().zip(&row[3..]) {
            for file in files {
                let path = crate::common::repo(&format!("fixtures/models/{file}.safetensors"));
                let model = ttfs_compiler::model::read(&path).unwrap();
                let verdict = match compile(&model, &target, &CompileOptions::default()) {
                    Ok(c) => format!("fits on {} cores", c.mapping.report.cores_used),
                    Err(CompileError::Map(MapError::FanInTooLarge { layers, .. })) => {
                        let what = match layers[0].field {
                            "core.max_axons" => "axons",
                            _ => "synapse entries",
                        };
                        format!(
                            "refused: a neuron has more inputs than {} {what}",
                            layers[0].limit
                        )
                    }
                    Err(CompileError::Quantize(QuantizeError::BiasUnsupported { .. })) => {
                        "refused: a bias, the chip has none".to_owned()
                    }
                    Err(CompileError::Map(MapError::TooManyCores { needed, .. })) => {
                        format!("refused: needs {needed} cores")
                    }
                    Err(e) => panic!("{file} on {target_name}: {e}"),
                };
                assert_eq!(
                    cell, &verdict,
                    "README target table: {column} on {target_name}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 48, "8 models on 6 targets");
}
