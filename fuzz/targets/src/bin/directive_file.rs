//! AFL++ target: see envtrack_fuzz_checks::directive_file.
fn main() {
    afl::fuzz!(|data: &[u8]| envtrack_fuzz_checks::directive_file(data));
}
