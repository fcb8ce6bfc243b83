//! Reading Linux `/proc`.

use std::fs;

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, almost always 100).
pub(crate) fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

pub(crate) fn page_size() -> f64 {
    // SAFETY: as above.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as f64
    } else {
        4096.0
    }
}

/// Fields of `/proc/self/stat` after the command name, so index 0 is the
/// state (field 3 of proc(5)).
pub(crate) fn self_stat() -> Option<Vec<String>> {
    let text = fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Field `n` of proc(5)'s numbering (1-based, counting pid and comm).
pub(crate) fn stat_field(fields: &[String], n: usize) -> Option<f64> {
    fields.get(n.checked_sub(3)?)?.parse().ok()
}

pub(crate) fn boot_time() -> Option<f64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    text.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

pub(crate) fn open_fds() -> Option<f64> {
    Some(fs::read_dir("/proc/self/fd").ok()?.count() as f64)
}

pub(crate) fn max_fds() -> Option<f64> {
    let text = fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// `/proc/meminfo` value in bytes (the file says kB).
pub(crate) fn meminfo(key: &str) -> Option<f64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.split(':').next() == Some(key))?;
    let kb: f64 = line.split(':').nth(1)?.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024.0)
}

pub(crate) fn loadavg() -> Option<[f64; 3]> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// The aggregate `cpu` line of `/proc/stat`, in seconds per mode.
pub(crate) fn cpu_seconds() -> Option<Vec<(&'static str, f64)>> {
    const MODES: [&str; 8] = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];
    let text = fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let tps = ticks_per_second();
    Some(
        MODES
            .iter()
            .zip(line.split_whitespace().skip(1))
            .filter_map(|(m, v)| v.parse::<f64>().ok().map(|t| (*m, t / tps)))
            .collect(),
    )
}
