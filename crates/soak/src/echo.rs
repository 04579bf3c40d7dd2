//! Echo transfers whose every byte is checked: random chunk sizes out, the
//! echo read back at the same time, and SHA-256 compared on both sides.

use std::io;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest write of an echo transfer; sizes are drawn from 1 to this.
pub const MAX_CHUNK: usize = 64 * 1024;

/// Random bytes that echo transfers cut their chunks from. Generating fresh
/// random bytes for every chunk is too slow in a debug build.
const SOURCE_BLOCK: usize = 1 << 20;

/// Sends `total` bytes in random chunk sizes drawn from `seed`, reads the
/// echo at the same time, closes the write side, and checks that exactly
/// the bytes sent came back before a clean end of stream. The error
/// describes what differed.
pub async fn echo_round_trip<S>(stream: S, total: u64, seed: u64) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(stream);

    let send = async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut block = vec![0u8; SOURCE_BLOCK];
        rng.fill_bytes(&mut block);
        let mut hasher = Sha256::new();
        let mut left = total;
        while left > 0 {
            let size = rng.random_range(1..=MAX_CHUNK as u64).min(left) as usize;
            let offset = rng.random_range(0..=SOURCE_BLOCK - size);
            let chunk = &block[offset..offset + size];
            hasher.update(chunk);
            writer.write_all(chunk).await?;
            left -= size as u64;
        }
        writer.shutdown().await?;
        let digest: [u8; 32] = hasher.finalize().into();
        Ok::<_, io::Error>(digest)
    };
    let receive = read_to_end_hashed(&mut reader);

    let (sent, (count, received)) =
        tokio::try_join!(send, receive).map_err(|err| format!("echo transfer failed: {err}"))?;
    if count != total {
        return Err(format!("sent {total} bytes, {count} came back"));
    }
    if sent != received {
        return Err(format!("{total} bytes came back with a different SHA-256"));
    }
    Ok(())
}

/// Reads to a clean end of stream; returns the byte count and SHA-256.
pub async fn read_to_end_hashed<R>(reader: &mut R) -> io::Result<(u64, [u8; 32])>
where
    R: AsyncRead + Unpin,
{
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; MAX_CHUNK];
    let mut count = 0u64;
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            return Ok((count, hasher.finalize().into()));
        }
        hasher.update(&buffer[..n]);
        count += n as u64;
    }
}
