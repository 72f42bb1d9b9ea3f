//! The README's examples are what the program prints: every `$ ttfs ...` line of its `console`
//! blocks runs (in the repository root, writing under `runs/`) and its output is compared with
//! the block, `[..]` standing for a part of a line that changes from run to run and `...` for
//! lines left out (trycmd). After a change to the output, re-bless with
//! `TRYCMD=overwrite cargo test --test it readme` and review the diff.

#[test]
fn the_readme_shows_what_the_commands_print() {
    trycmd::TestCases::new()
        .register_bin("ttfs", std::path::Path::new(env!("CARGO_BIN_EXE_ttfs")))
        .register_bin("cat", std::path::Path::new("/bin/cat"))
        // Progress bars stay off (no terminal) and no colours.
        .env("NO_COLOR", "1")
        .case(crate::common::repo("README.md"));
}
