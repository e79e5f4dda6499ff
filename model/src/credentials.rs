//! Whose a tracked tree is. A snapshot names the credentials of the process
//! that wrote it; a process running with other credentials (after `sudo`,
//! `su`, `runuser`, a daemon dropping privileges) neither takes nor hands on
//! tracked values: envtrack never carries anything across a change of user.

use crate::sink::{Full, Sink};

/// Real and effective user and group ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Credentials {
    pub ruid: u32,
    pub euid: u32,
    pub rgid: u32,
    pub egid: u32,
}

impl Credentials {
    /// Writes `RUID,EUID,RGID,EGID`.
    pub fn encode<S: Sink>(&self, out: &mut S) -> Result<(), Full> {
        let ids = [self.ruid, self.euid, self.rgid, self.egid];
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                out.put_byte(b',')?;
            }
            out.put_decimal(*id as usize)?;
        }
        Ok(())
    }

    /// Parses `RUID,EUID,RGID,EGID` (decimal, no leading zeros but `0`).
    pub fn parse(field: &[u8]) -> Option<Credentials> {
        let mut ids = [0u32; 4];
        let mut parts = field.split(|&b| b == b',');
        for id in &mut ids {
            let digits = parts.next()?;
            if digits.is_empty() || digits.len() > 10 || (digits.len() > 1 && digits[0] == b'0') {
                return None;
            }
            let mut value: u64 = 0;
            for &d in digits {
                if !d.is_ascii_digit() {
                    return None;
                }
                value = value * 10 + u64::from(d - b'0');
            }
            *id = u32::try_from(value).ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        let [ruid, euid, rgid, egid] = ids;
        Some(Credentials { ruid, euid, rgid, egid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn round_trip_and_rejects() {
        let c = Credentials { ruid: 0, euid: 1000, rgid: 4294967295, egid: 7 };
        let mut out = Vec::new();
        c.encode(&mut out).unwrap();
        assert_eq!(out, b"0,1000,4294967295,7");
        assert_eq!(Credentials::parse(&out), Some(c));
        for bad in [&b""[..], b"1,2,3", b"1,2,3,4,5", b"01,2,3,4", b"1,,3,4", b"1,2,3,4294967296", b"a,2,3,4"] {
            assert_eq!(Credentials::parse(bad), None, "{:?}", bad);
        }
    }
}
