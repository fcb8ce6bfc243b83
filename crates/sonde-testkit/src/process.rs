//! Child processes killed by PID when dropped, and what `/proc` says of them.

use std::collections::HashSet;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::wait::poll_until;

/// A child process, killed (SIGKILL, by PID) and reaped when dropped.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Spawns `command`; panics when it cannot start.
    pub fn spawn(command: &mut Command) -> Self {
        Self(command.spawn().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}")))
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Sends `signal` (for example `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with our own child's pid touches no memory.
        let rc = unsafe { libc::kill(self.0.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.0.id());
    }

    /// Waits up to `timeout` for the child to exit; `None` if it did not.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        poll_until(timeout, || self.0.try_wait().ok().flatten())
    }

    /// Resident memory in bytes (`VmRSS` of `/proc/PID/status`).
    pub fn rss_bytes(&self) -> u64 {
        rss_bytes(self.pid())
    }

    /// Open file descriptors.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map(|d| d.count()).unwrap_or(0)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident memory of a process in bytes (Linux; 0 if unknown).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// Socket inodes the process holds open.
fn socket_inodes(pid: u32) -> HashSet<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return HashSet::new() };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
        .collect()
}

/// Local ports of the process's sockets in `/proc/PID/net/<table>` whose
/// state is `state` (hex, as the kernel writes it; `None`: any).
fn ports(pid: u32, tables: &[&str], state: Option<&str>) -> Vec<u16> {
    let inodes = socket_inodes(pid);
    let mut found = Vec::new();
    for table in tables {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || state.is_some_and(|s| cols[3] != s) {
                continue;
            }
            let inode: u64 = cols[9].parse().unwrap_or(0);
            let port = cols[1].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (true, Some(port)) = (inodes.contains(&inode), port) {
                if !found.contains(&port) {
                    found.push(port);
                }
            }
        }
    }
    found
}

/// TCP ports the process listens on.
pub fn tcp_listeners(pid: u32) -> Vec<u16> {
    ports(pid, &["tcp", "tcp6"], Some("0A"))
}

/// UDP ports the process has bound.
pub fn udp_sockets(pid: u32) -> Vec<u16> {
    ports(pid, &["udp", "udp6"], None)
}

/// Waits until the child listens on exactly one TCP port and returns it;
/// panics after `timeout`. For peers started on port 0, so that no port is
/// reserved, freed and bound again (which another process could take).
pub fn wait_for_tcp_listener(child: &ChildGuard, timeout: Duration) -> u16 {
    let start = Instant::now();
    poll_until(timeout, || tcp_listeners(child.pid()).first().copied())
        .unwrap_or_else(|| panic!("pid {} listened on no TCP port within {:?}", child.pid(), start.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_process_listeners_and_udp_sockets() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let me = std::process::id();
        assert!(tcp_listeners(me).contains(&tcp.local_addr().unwrap().port()));
        assert!(udp_sockets(me).contains(&udp.local_addr().unwrap().port()));
        assert!(rss_bytes(me) > 0);
    }
}
