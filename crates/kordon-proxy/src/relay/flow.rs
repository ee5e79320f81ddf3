//! One direction of a relay: a source socket, a destination socket, the bucket that shapes
//! this direction and the tally that counts it.

use std::io;
use std::net::Shutdown;

use tokio::net::TcpStream;

use crate::limits::TokenBucket;

use super::buffers::SizeClass;
use super::error::RelayError;
use super::gear::{Gear, Path};
use super::splice::Spliced;
use super::tally::{Direction, Tally};
use super::{copy, shaping, splice, Engine, RelayControls};

pub(crate) struct Flow<'a> {
    pub(crate) src: &'a TcpStream,
    pub(crate) dst: &'a TcpStream,
    pub(crate) direction: Direction,
    pub(crate) tally: &'a Tally<'a>,
    bucket: Option<&'a TokenBucket>,
    gear: Gear,
}

impl<'a> Flow<'a> {
    pub(crate) fn new(
        direction: Direction,
        client: &'a TcpStream,
        upstream: &'a TcpStream,
        controls: &RelayControls<'a>,
        tally: &'a Tally<'a>,
        engine: Engine,
    ) -> Flow<'a> {
        let (src, dst, bucket) = match direction {
            Direction::Outbound => (client, upstream, controls.limit.map(|l| &l.outbound)),
            Direction::Inbound => (upstream, client, controls.limit.map(|l| &l.inbound)),
        };
        Flow {
            src,
            dst,
            direction,
            tally,
            bucket,
            gear: Gear::new(engine),
        }
    }

    pub(crate) fn src_error(&self, error: io::Error) -> RelayError {
        self.direction.source().error(error)
    }

    pub(crate) fn dst_error(&self, error: io::Error) -> RelayError {
        self.direction.destination().error(error)
    }

    /// Moves bytes from source to destination until the source ends or, with a `limit`,
    /// that many bytes went through (never more). Returns the bytes moved; fewer than the
    /// limit means the source ended first.
    pub(crate) async fn forward(&mut self, limit: Option<u64>) -> Result<u64, RelayError> {
        let mut moved = 0u64;
        loop {
            let mut want = shaping::chunk(self.bucket);
            if let Some(limit) = limit {
                let left = limit - moved;
                if left == 0 {
                    break;
                }
                want = want.min(usize::try_from(left).unwrap_or(usize::MAX));
            }
            let n = self.step(want).await?;
            if n == 0 {
                break;
            }
            moved += n as u64;
        }
        Ok(moved)
    }

    async fn step(&mut self, want: usize) -> Result<usize, RelayError> {
        let moved = match self.gear.path() {
            Path::Splice => match splice::step(self, want).await? {
                Spliced::Moved(n) => n,
                Spliced::Unsupported => {
                    tracing::debug!("splice not supported here, copying instead");
                    self.gear.splice_unsupported();
                    copy::step(self, SizeClass::SMALLEST, want).await?
                }
                Spliced::NoPipe => copy::step(self, SizeClass::SMALLEST, want).await?,
            },
            Path::Copy(class) => copy::step(self, class, want).await?,
        };
        self.gear.after_step(want, moved);
        Ok(moved)
    }

    /// Writes bytes already in memory (a head, buffered body bytes) to the destination,
    /// shaped and counted like relayed ones.
    pub(crate) async fn write_all(&self, bytes: &[u8]) -> Result<(), RelayError> {
        for chunk in bytes.chunks(shaping::chunk(self.bucket)) {
            self.shape(chunk.len()).await;
            self.send(chunk).await?;
        }
        Ok(())
    }

    /// Writes `bytes` to the destination without taking tokens (the caller took them).
    pub(crate) async fn send(&self, mut bytes: &[u8]) -> Result<(), RelayError> {
        while !bytes.is_empty() {
            self.dst.writable().await.map_err(|e| self.dst_error(e))?;
            match self.dst.try_write(bytes) {
                Ok(0) => return Err(self.dst_error(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.tally.record(self.direction, n as u64);
                    bytes = &bytes[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(self.dst_error(e)),
            }
        }
        Ok(())
    }

    /// Reads what the source has (at least one byte, or 0 at end of stream) onto the end of
    /// `buf`, reserving room for `room` more bytes first.
    pub(crate) async fn read_into(
        &self,
        buf: &mut Vec<u8>,
        room: usize,
    ) -> Result<usize, RelayError> {
        buf.reserve(room);
        loop {
            self.src.readable().await.map_err(|e| self.src_error(e))?;
            match self.src.try_read_buf(buf) {
                Ok(n) => {
                    self.tally.touch();
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(self.src_error(e)),
            }
        }
    }

    pub(crate) async fn shape(&self, bytes: usize) {
        shaping::take(self.bucket, bytes).await;
    }

    /// Tells the destination this direction is over (TCP FIN), leaving the other open.
    pub(crate) fn half_close(&self) -> Result<(), RelayError> {
        match socket2::SockRef::from(self.dst).shutdown(Shutdown::Write) {
            // The peer is already gone; the other direction will see it.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other.map_err(|e| self.dst_error(e)),
        }
    }
}
