//! AFL++ target: see envtrack_fuzz_checks::launcher_rewrite.
fn main() {
    afl::fuzz!(|data: &[u8]| envtrack_fuzz_checks::launcher_rewrite(data));
}
