//! AFL++ target: see envtrack_fuzz_checks::snapshot_decode.
fn main() {
    afl::fuzz!(|data: &[u8]| envtrack_fuzz_checks::snapshot_decode(data));
}
