//! Byte sinks: where the model writes values it builds.
//!
//! The preload builds child environments after `fork` and inside `vfork`, where
//! nothing may allocate. Every writer in this crate therefore takes a [`Sink`]:
//! a `Vec<u8>` on the allocating side, a [`SliceSink`] over a fixed buffer on
//! the exec path.

use alloc::vec::Vec;

/// The buffer given to a [`SliceSink`] is too small for what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Something bytes can be appended to.
pub trait Sink {
    /// Append `bytes`, or fail without a partial guarantee (the caller discards the sink).
    fn put(&mut self, bytes: &[u8]) -> Result<(), Full>;

    /// Append one byte.
    fn put_byte(&mut self, byte: u8) -> Result<(), Full> {
        self.put(&[byte])
    }

    /// Append `n` in decimal, without allocating.
    fn put_decimal(&mut self, n: usize) -> Result<(), Full> {
        // Short numbers (most field lengths) without the general formatter.
        match n {
            0..=9 => self.put_byte(b'0' + n as u8),
            10..=99 => self.put(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]),
            _ => self.put(Decimal::new(n as u64).as_bytes()),
        }
    }
}

/// The decimal digits of a number, in a small stack buffer (no allocation:
/// the preload formats pids and sizes with it after fork).
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub fn new(mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// A sink over a caller-provided buffer; never allocates.
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceSink<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceSink { buf, len: 0 }
    }

    /// A sink over `buf` whose first `len` bytes are already written.
    pub fn resume(buf: &'a mut [u8], len: usize) -> Self {
        let len = len.min(buf.len());
        SliceSink { buf, len }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What has been written.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Forget everything after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
        }
    }
}

impl Sink for SliceSink<'_> {
    // Inlined: the preload writes every record of a child's state through here, a few bytes
    // at a time.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len.checked_add(bytes.len()).ok_or(Full)?;
        let dest = self.buf.get_mut(self.len..end).ok_or(Full)?;
        if let [byte] = bytes {
            dest[0] = *byte;
        } else {
            dest.copy_from_slice(bytes);
        }
        self.len = end;
        Ok(())
    }

    #[inline(always)]
    fn put_byte(&mut self, byte: u8) -> Result<(), Full> {
        let slot = self.buf.get_mut(self.len).ok_or(Full)?;
        *slot = byte;
        self.len += 1;
        Ok(())
    }
}

/// A small fixed buffer that is its own sink (for short fields built on the stack).
pub struct ArrayBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for ArrayBuf<N> {
    fn default() -> Self {
        ArrayBuf { buf: [0; N], len: 0 }
    }
}

impl<const N: usize> ArrayBuf<N> {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Sink for ArrayBuf<N> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len.checked_add(bytes.len()).ok_or(Full)?;
        self.buf.get_mut(self.len..end).ok_or(Full)?.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Counts bytes instead of storing them: sizes a result before building it.
#[derive(Default)]
pub struct CountingSink {
    pub count: usize,
}

impl Sink for CountingSink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.count = self.count.checked_add(bytes.len()).ok_or(Full)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_sink_refuses_overflow_and_keeps_what_fit() {
        let mut buf = [0u8; 4];
        let mut sink = SliceSink::new(&mut buf);
        assert_eq!(sink.put(b"ab"), Ok(()));
        assert_eq!(sink.put(b"cde"), Err(Full));
        assert_eq!(sink.written(), b"ab");
    }

    #[test]
    fn decimal() {
        let mut v = Vec::new();
        v.put_decimal(0).unwrap();
        v.put_byte(b' ').unwrap();
        v.put_decimal(1234567890).unwrap();
        assert_eq!(v, b"0 1234567890");
    }
}
