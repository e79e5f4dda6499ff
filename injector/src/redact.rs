//! Secret-looking names: their values never appear in logs, nor in `show`
//! unless asked.

/// Name fragments that make a variable secret (case-insensitive).
const SECRET_FRAGMENTS: &[&str] = &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL"];

/// More secret names, comma-separated, each exact or a `PREFIX*`.
pub const REDACT_VAR: &str = "ENVTRACK_REDACT";

/// Whether `name`'s value must be hidden.
pub fn is_secret(name: &[u8]) -> bool {
    let upper = name.to_ascii_uppercase();
    if SECRET_FRAGMENTS.iter().any(|f| upper.windows(f.len()).any(|w| w == f.as_bytes())) {
        return true;
    }
    let extra = std::env::var_os(REDACT_VAR).unwrap_or_default();
    extra.as_encoded_bytes().split(|&b| b == b',').filter(|p| !p.is_empty()).any(|pattern| match pattern {
        [prefix @ .., b'*'] => name.starts_with(prefix),
        exact => exact == name,
    })
}

/// The value to show for `name`.
pub fn shown<'v>(name: &[u8], value: &'v [u8], reveal: bool) -> std::borrow::Cow<'v, [u8]> {
    if reveal || !is_secret(name) {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(b"<redacted>".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in ["GITHUB_TOKEN", "aws_secret_access_key", "DB_PASSWORD", "SSH_KEY", "MY_API_KEY"] {
            assert!(is_secret(name.as_bytes()), "{name}");
        }
        for name in ["PATH", "HOME", "NCCL_DEBUG", "MONKEYS"] {
            assert_eq!(is_secret(name.as_bytes()), name == "MONKEYS", "{name}");
        }
    }
}
