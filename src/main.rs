//! `ttfs`: one command line from training a time-to-first-spike SNN to a chip.
//!
//! The binary is thin: each subcommand parses its flags (clap), turns them into the library's
//! settings, runs the library and prints. Errors end as one line of cause plus a hint.

mod cmd;
mod paths;
mod pictures;
mod stage;

/// Training allocates and frees many large tensors per batch; the system allocator returns
/// them to the kernel and page-faults them back in, which cost a third of the run time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Arg, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Time-to-first-spike SNNs, from training to a neuromorphic chip.
#[derive(Parser)]
#[command(name = "ttfs", version, about)]
struct Cli {
    /// Worker threads for tensor math and emulation [default: all cores]. Training is
    /// bit-reproducible for a fixed seed with 1 thread; `run` gives the same results on any
    /// number of threads
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Refuse an input that cannot be checked (a model file without a digest) instead of
    /// warning about it
    #[arg(long, global = true)]
    strict: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a TTFS network (default: the MNIST MLP on the embedded MNIST files).
    Train(Box<cmd::train::TrainArgs>),
    /// Train, compile and emulate in one run folder, with a summary (default: the MNIST MLP,
    /// 3 epochs, on the Loihi-like target; about 35 s on 2 cores once built).
    Pipeline(Box<cmd::pipeline::PipelineArgs>),
    /// Compile a trained model for a target: fold, quantize, map, write the chip configuration.
    Compile(cmd::compile::CompileArgs),
    /// Print a human summary of a chip configuration.
    Inspect(cmd::inspect::InspectArgs),
    /// Sweep the sparse-firing regularizers over gamma: accuracy against spikes per neuron, as
    /// trained and as emulated on a target.
    Sweep(Box<cmd::sweep::SweepArgs>),
    /// Run a chip configuration on the emulator: accuracy, latency, energy per inference.
    Run(cmd::run::RunArgs),
    /// Explore the design space: trained models x targets x early exit, each compiled and
    /// emulated against the golden model; accuracy against energy and latency, Pareto front
    /// marked.
    Explore(cmd::explore::ExploreArgs),
    /// Merge the shard files of one run (`ttfs run --shard I/N`) into the report of the whole
    /// run, or those of one exploration (`ttfs explore --shard I/N`) into its explore.json.
    Merge(cmd::merge::MergeArgs),
    /// Export a model to a NIR file (the graph snnTorch, Norse, Sinabs, Rockpool and Lava
    /// read), or the integer network compiled for a target.
    Export(cmd::nir::ExportArgs),
}

/// mimalloc's `mi_option_purge_delay` (mimalloc.h, v2): -1 keeps freed memory for reuse.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc's `mi_option_arena_eager_commit`.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Keeps freed pages in the process: a training step frees and re-allocates the same large
/// tensors every batch, and handing them back to the kernel made it zero a fresh page on
/// every first touch (a third of the CNN's run time, measured with perf).
fn keep_freed_memory() {
    #[allow(unsafe_code)]
    // SAFETY: plain option setters of the allocator; called before any other thread starts.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 1);
    }
}

/// The command line as clap builds it from the derive, with the training flags that `pipeline`
/// and `sweep` borrow from `train` adjusted to what those stages do with them: their epochs
/// default to 3, the model's path is the run folder's, and the sweep sets the regularizer and
/// its strength itself.
fn command() -> clap::Command {
    let stage_epochs = |a: Arg| {
        a.help(format!(
            "Epochs in total [default: {}]",
            cmd::train::STAGE_EPOCHS
        ))
    };
    let hide = |a: Arg| a.hide(true);
    Cli::command()
        .mut_subcommand("pipeline", |c| {
            c.mut_arg("epochs", stage_epochs)
                .mut_arg("out", hide)
                .mut_arg("bench", hide)
                .mut_arg("resume", |a| {
                    a.help("Continue the training whose checkpoint is in --run-dir")
                })
        })
        .mut_subcommand("sweep", |c| {
            c.mut_arg("epochs", stage_epochs)
                .mut_arg("out", hide)
                .mut_arg("bench", hide)
                .mut_arg("sparsity", hide)
                .mut_arg("gamma", hide)
                .mut_arg("resume", |a| {
                    a.help("Continue the trainings whose checkpoints are in --run-dir")
                })
        })
}

/// A closed pipe ends the program quietly, as it ends `cat` or `grep` (`ttfs run ... | head
/// -1`): the signal's default action, which Rust's runtime replaces by an error that every
/// `println!` turns into a panic ("failed printing to stdout: Broken pipe").
#[cfg(unix)]
fn end_quietly_on_a_closed_pipe() {
    #[allow(unsafe_code)]
    // SAFETY: restores the default disposition of one signal; called before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn end_quietly_on_a_closed_pipe() {}

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    keep_freed_memory();
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cmd::STRICT.store(cli.strict, std::sync::atomic::Ordering::Relaxed);
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("error: --threads must be at least 1");
            return ExitCode::from(2);
        }
        // Candle's kernels size their thread pools from this variable, so it must be set
        // before any of them run; nothing else runs yet, so no other thread reads it.
        #[allow(unsafe_code)]
        // SAFETY: single-threaded at this point (no thread has been spawned yet).
        unsafe {
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        }
    }
    let result = match cli.command {
        Command::Train(args) => cmd::train::run(*args),
        Command::Compile(args) => cmd::compile::run(args),
        Command::Pipeline(args) => cmd::pipeline::run(*args),
        Command::Sweep(args) => cmd::sweep::run(*args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Explore(args) => cmd::explore::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Export(args) => cmd::nir::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", cmd::describe(&err));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_the_stages_show_their_own_defaults() {
        let cmd = command();
        cmd.clone().debug_assert();
        let help = |name: &str| {
            let mut sub = cmd
                .find_subcommand(name)
                .cloned()
                .unwrap_or_else(|| panic!("no subcommand {name}"));
            sub.render_long_help().to_string()
        };
        for stage in ["pipeline", "sweep"] {
            let text = help(stage);
            assert!(text.contains("Epochs in total [default: 3]"), "{text}");
            assert!(!text.contains("-o, --out"), "{text}");
            assert!(!text.contains("--bench"), "{text}");
            assert!(text.contains("checkpoint"), "{text}");
            assert!(!text.contains("beside --out"), "{text}");
        }
        assert!(!help("sweep").contains("--gamma <"));
        assert!(help("train").contains("Epochs in total [default: 20]"));
        assert!(help("train").contains("--out"));
    }
}
