//! A loopback port that is ours but refuses connections, until we listen.

use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};

/// A TCP socket bound to a free loopback port without listening: connecting
/// to it is refused (a downstream that is down), and no other process can
/// take the port until [`ClosedPort::listen`] turns it into a listener (the
/// downstream comes back on the same address). Unlike reserving a port,
/// freeing it and binding it again later, nothing can race for it.
pub struct ClosedPort {
    fd: OwnedFd,
    port: u16,
}

impl ClosedPort {
    /// Binds a fresh socket to `127.0.0.1:0`.
    pub fn bind() -> Self {
        // SAFETY: plain socket(2)/bind(2)/getsockname(2) calls on a socket we
        // create and own; the address structures are initialised locals.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            let rc = libc::bind(raw, &addr as *const libc::sockaddr_in as *const libc::sockaddr, len);
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            let mut bound: libc::sockaddr_in = std::mem::zeroed();
            let mut bound_len = len;
            let rc =
                libc::getsockname(raw, &mut bound as *mut libc::sockaddr_in as *mut libc::sockaddr, &mut bound_len);
            assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
            Self { fd, port: u16::from_be(bound.sin_port) }
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts listening on the same port.
    pub fn listen(self) -> TcpListener {
        let raw = std::os::fd::IntoRawFd::into_raw_fd(self.fd);
        // SAFETY: listen(2) on the bound socket we own; the listener takes
        // ownership of the descriptor.
        unsafe {
            let rc = libc::listen(raw, 128);
            assert_eq!(rc, 0, "listen: {}", std::io::Error::last_os_error());
            TcpListener::from_raw_fd(raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_until_it_listens_on_the_same_port() {
        let closed = ClosedPort::bind();
        let addr = closed.addr();
        assert!(std::net::TcpStream::connect(&addr).is_err(), "refused while closed");
        let listener = closed.listen();
        assert_eq!(listener.local_addr().unwrap().to_string(), addr);
        assert!(std::net::TcpStream::connect(&addr).is_ok());
    }
}
