//! What the Slurm plugin adds to a step, as medians of `srun` runs taken side
//! by side on the one-node Slurm of the tests (started here; needs root):
//!
//! 1. An untracked submitter's `srun -N1 -n1 /bin/true` with the plugin in
//!    `plugstack.conf` against the same without it. Target: at most 5% more.
//! 2. A tracked submitter's `srun -N1 -n1 --export=NONE /bin/true` (the
//!    library routing srun) carried by the plugin, against the same carried by
//!    launch mode's rewriting. Target: at most 10% more (the plugin's way asks
//!    `srun --help` whether srun loads it, about 6 ms).
//!
//! srun and slurmstepd read plugstack.conf at every step, so the two sides
//! alternate by rewriting it. Writes its rows to `benches/results/figures/slurm`.
//!
//! Usage: `cargo run --release -p envtrack-tests --bin slurm_plugin_cost [RUNS]` (benches/run.sh runs it).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use envtrack_tests::launchers::Slurm;
use envtrack_tests::{library, scratch, spank_plugin, workspace};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// One `srun` run, its wall time; panics if it fails.
fn srun_time(slurm: &Slurm, tracked: bool, args: &[&str]) -> Duration {
    let mut command = Command::new("srun");
    command.env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin").env("HOME", "/root").envs(slurm.env());
    if tracked {
        command.env("LD_PRELOAD", library()).env("A_TRACKED_VALUE", "1");
    }
    command.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = command.output().expect("run srun");
    let took = start.elapsed();
    assert!(out.status.success(), "srun {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

/// Medians of `runs` pairs, alternating plugstack.conf between `with` and `without`.
fn side_by_side(
    slurm: &Slurm,
    runs: usize,
    with: &str,
    without: &str,
    run: impl Fn() -> Duration,
) -> (Duration, Duration) {
    let plugstack = slurm.dir().join("plugstack.conf");
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for i in 0..runs + 2 {
        for (text, times) in [(with, &mut on), (without, &mut off)] {
            std::fs::write(&plugstack, text).expect("write plugstack.conf");
            let took = run();
            if i >= 2 {
                times.push(took); // the first two pairs warm the caches
            }
        }
    }
    (median(on), median(off))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(30).max(1);
    let dir = scratch("bench_slurm_plugin");
    let plugin = format!("optional {}\n", spank_plugin().display());
    let none = "# no plugins\n";
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugin));

    let (with, without) =
        side_by_side(&slurm, runs, &plugin, none, || srun_time(&slurm, false, &["-N1", "-n1", "/bin/true"]));
    let untracked = with.as_secs_f64() / without.as_secs_f64();
    println!("untracked srun -n1 /bin/true: {} with the plugin, {} without ({untracked:.3}x)", ms(with), ms(without));

    let (plugin_way, rewritten) = side_by_side(&slurm, runs, &plugin, none, || {
        srun_time(&slurm, true, &["-N1", "-n1", "--export=NONE", "/bin/true"])
    });
    let tracked = plugin_way.as_secs_f64() / rewritten.as_secs_f64();
    println!(
        "tracked srun -n1 --export=NONE /bin/true: {} carried by the plugin, {} by rewriting ({tracked:.3}x)",
        ms(plugin_way),
        ms(rewritten)
    );

    let verdict = |ratio: f64, most: f64| if ratio <= most { "PASS" } else { "FAIL" };
    let rows = [
        format!(
            "srun with the plugin, untracked submitter (vs without)\t{untracked:.3}x\t<= 1.05x\t{}",
            verdict(untracked, 1.05)
        ),
        format!("srun carried by the plugin (vs by rewriting)\t{tracked:.3}x\t<= 1.10x\t{}", verdict(tracked, 1.10)),
    ];
    let figures = workspace().join("benches/results/figures");
    std::fs::create_dir_all(&figures).expect("create benches/results/figures");
    std::fs::write(figures.join("slurm"), rows.join("\n") + "\n").expect("write the figures");
    drop(slurm);
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
