//! AFL++ target: see envtrack_fuzz_checks::diff_apply.
fn main() {
    afl::fuzz!(|data: &[u8]| envtrack_fuzz_checks::diff_apply(data));
}
