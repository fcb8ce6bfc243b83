//! A connection that holds its listener's permit and closes itself when it
//! has been idle too long.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// An accepted stream: reading or writing nothing for `idle` fails the
/// next read or write with `TimedOut`, which ends the connection (HTTP/1
/// keep-alive, HTTP/2, a silent StatsD client alike). The listener's permit
/// is released when the stream drops.
pub(crate) struct Watched<S> {
    io: S,
    deadline: Pin<Box<Sleep>>,
    idle: Duration,
    _permit: OwnedSemaphorePermit,
}

impl<S> Watched<S> {
    pub(crate) fn new(io: S, idle: Duration, permit: OwnedSemaphorePermit) -> Self {
        Self { io, deadline: Box::pin(tokio::time::sleep(idle)), idle, _permit: permit }
    }
}

/// Pushes the deadline out after progress; reports a timeout when stalled.
fn watch<T>(
    result: Poll<io::Result<T>>,
    progressed: impl FnOnce(&T) -> bool,
    deadline: Pin<&mut Sleep>,
    idle: Duration,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    match result {
        Poll::Ready(Ok(v)) => {
            if progressed(&v) {
                deadline.reset(Instant::now() + idle);
            }
            Poll::Ready(Ok(v))
        }
        Poll::Pending => match deadline.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle too long"))),
            Poll::Pending => Poll::Pending,
        },
        other => other,
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        let read = buf.filled().len() > before;
        watch(result, |_| read, this.deadline.as_mut(), this.idle, cx)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, data);
        watch(result, |n| *n > 0, this.deadline.as_mut(), this.idle, cx)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        watch(result, |n| *n > 0, this.deadline.as_mut(), this.idle, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::Semaphore;

    #[tokio::test(start_paused = true)]
    async fn silence_times_out_and_traffic_does_not() {
        let permits = Arc::new(Semaphore::new(1));
        let (client, server) = tokio::io::duplex(64);
        let mut watched = Watched::new(server, Duration::from_secs(10), permits.clone().try_acquire_owned().unwrap());
        assert_eq!(permits.available_permits(), 0, "the connection holds its permit");
        let mut client = client;
        let mut buf = [0u8; 4];
        // Traffic every 6 s keeps it open past 10 s.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(6)).await;
            client.write_all(b"ping").await.unwrap();
            watched.read_exact(&mut buf).await.unwrap();
        }
        // Then 10 s of silence ends it.
        let err = watched.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(watched);
        assert_eq!(permits.available_permits(), 1, "the permit comes back with the connection");
    }
}
