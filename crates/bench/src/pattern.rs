//! The deterministic byte stream that throughput measurements send and
//! verify.
//!
//! The stream is one pseudo-random block repeated. The block length is not
//! a multiple of any buffer or record size, so a lost, repeated or
//! reordered chunk shows up as a mismatch at the next byte compared.

use std::sync::OnceLock;

/// Bytes in one period of the stream: 1 MiB plus an odd remainder.
const PERIOD: usize = (1 << 20) + 13;

/// Seed of the generator; any fixed value works.
const SEED: u64 = 0x6d69_7865_722d_7071;

/// The repeating stream, stored twice over so that any slice of up to one
/// period is contiguous.
#[derive(Debug)]
pub struct Pattern {
    doubled: Vec<u8>,
}

impl Pattern {
    /// Returns the stream shared by every connection in this process.
    pub fn shared() -> &'static Pattern {
        static PATTERN: OnceLock<Pattern> = OnceLock::new();
        PATTERN.get_or_init(Pattern::generate)
    }

    fn generate() -> Self {
        // splitmix64: a small generator whose output passes common
        // statistical tests, which is all a test stream needs.
        let mut state = SEED;
        let mut block = Vec::with_capacity(PERIOD + 8);
        while block.len() < PERIOD {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            block.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        block.truncate(PERIOD);

        let mut doubled = block.clone();
        doubled.extend_from_slice(&block);
        Self { doubled }
    }

    /// Copies the stream from byte `offset` into `buffer`.
    pub fn fill(&self, offset: u64, buffer: &mut [u8]) {
        let mut done = 0;
        while done < buffer.len() {
            let piece = self.piece(offset + done as u64, buffer.len() - done);
            buffer[done..done + piece.len()].copy_from_slice(piece);
            done += piece.len();
        }
    }

    /// Compares `data` with the stream from byte `offset`; returns the
    /// index in `data` of the first byte that differs.
    pub fn first_mismatch(&self, offset: u64, data: &[u8]) -> Option<usize> {
        let mut done = 0;
        while done < data.len() {
            let piece = self.piece(offset + done as u64, data.len() - done);
            let actual = &data[done..done + piece.len()];
            if actual != piece {
                let within = actual.iter().zip(piece).position(|(a, b)| a != b);
                return Some(done + within.unwrap_or(0));
            }
            done += piece.len();
        }
        None
    }

    /// Returns the stream from `offset`: `max_len` bytes, or one period if
    /// that is shorter.
    pub fn piece(&self, offset: u64, max_len: usize) -> &[u8] {
        let start = (offset % PERIOD as u64) as usize;
        &self.doubled[start..start + max_len.min(PERIOD)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_continuous_across_calls_and_periods() {
        let pattern = Pattern::shared();
        let mut whole = vec![0u8; 3 * PERIOD];
        pattern.fill(0, &mut whole);

        let mut offset = 0u64;
        for size in [1, 4095, 16 * 1024, PERIOD - 3, 17, PERIOD + 5] {
            let mut part = vec![0u8; size];
            pattern.fill(offset, &mut part);
            let start = offset as usize;
            assert_eq!(part, whole[start..start + size], "offset {offset}");
            offset += size as u64;
        }
    }

    #[test]
    fn period_repeats() {
        let pattern = Pattern::shared();
        let mut first = vec![0u8; 100];
        let mut second = vec![0u8; 100];
        pattern.fill(7, &mut first);
        pattern.fill(7 + PERIOD as u64, &mut second);
        assert_eq!(first, second);
    }

    #[test]
    fn first_mismatch_finds_changed_byte() {
        let pattern = Pattern::shared();
        let mut data = vec![0u8; 50_000];
        pattern.fill(1234, &mut data);
        assert_eq!(pattern.first_mismatch(1234, &data), None);

        data[40_000] ^= 1;
        assert_eq!(pattern.first_mismatch(1234, &data), Some(40_000));
    }

    #[test]
    fn shifted_chunk_is_a_mismatch() {
        let pattern = Pattern::shared();
        let mut data = vec![0u8; 16 * 1024];
        pattern.fill(16 * 1024, &mut data);
        assert!(pattern.first_mismatch(0, &data).is_some());
        assert!(pattern.first_mismatch(32 * 1024, &data).is_some());
    }
}
