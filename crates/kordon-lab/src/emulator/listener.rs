//! The emulator's listener: while the modem is unplugged or rebooting its web server is gone,
//! so new connections are closed at once and open ones fail on their next read or write.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::modem::EmulatedModem;

pub(crate) struct ModemListener {
    pub(crate) inner: TcpListener,
    pub(crate) modem: EmulatedModem,
}

impl axum::serve::Listener for ModemListener {
    type Io = ModemStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) if self.modem.state().reachable() => {
                    let io = ModemStream {
                        inner: stream,
                        modem: self.modem.clone(),
                    };
                    return (io, peer);
                }
                // Gone modem: the connection closes unanswered.
                Ok(_) => continue,
                // Out of descriptors and the like: pause rather than spin.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

pub(crate) struct ModemStream {
    inner: TcpStream,
    modem: EmulatedModem,
}

impl ModemStream {
    fn check(&self) -> io::Result<()> {
        if self.modem.state().reachable() {
            Ok(())
        } else {
            Err(io::Error::from(io::ErrorKind::ConnectionReset))
        }
    }
}

impl AsyncRead for ModemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ModemStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
