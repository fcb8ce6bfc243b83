//! Process and system metrics agree with /proc and ps.

use std::process::Command;

use sonde::Registry;

fn value(r: &Registry, name: &str) -> f64 {
    r.snapshot().family(name).unwrap_or_else(|| panic!("no {name}")).series().next().unwrap().value().as_f64()
}

#[cfg(target_os = "linux")]
#[test]
fn process_metrics_agree_with_proc_and_ps() {
    let r = Registry::new();
    sonde_process::register_process_metrics(&r).unwrap();
    let pid = std::process::id().to_string();
    let ps = |field: &str| -> f64 {
        let out = Command::new("ps").args(["-o", &format!("{field}="), "-p", &pid]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let rss = value(&r, "process_resident_memory_bytes");
    let ps_rss = ps("rss") * 1024.0;
    assert!((rss - ps_rss).abs() / ps_rss < 0.2, "rss {rss} vs ps {ps_rss}");
    let vsz = value(&r, "process_virtual_memory_bytes");
    let ps_vsz = ps("vsz") * 1024.0;
    assert!((vsz - ps_vsz).abs() / ps_vsz < 0.2, "vsz {vsz} vs ps {ps_vsz}");
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let threads: f64 = status.lines().find_map(|l| l.strip_prefix("Threads:")).unwrap().trim().parse().unwrap();
    assert!((value(&r, "process_threads") - threads).abs() <= 4.0, "threads: the test harness may start a few");
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count() as f64;
    assert!((value(&r, "process_open_fds") - fds).abs() <= 3.0);
    assert!(value(&r, "process_max_fds") >= 64.0);
    let start = value(&r, "process_start_time_seconds");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(start <= now + 1.0 && start > now - 3600.0, "started within the hour: {start} vs {now}");
    let cpu0 = value(&r, "process_cpu_seconds");
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < std::time::Duration::from_millis(300) {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    std::hint::black_box(x);
    let cpu1 = value(&r, "process_cpu_seconds");
    assert!(cpu1 - cpu0 >= 0.1, "a busy loop shows up: {cpu0} -> {cpu1}");
}

#[cfg(target_os = "linux")]
#[test]
fn system_metrics_agree_with_proc() {
    let r = Registry::new();
    sonde_process::register_system_metrics(&r).unwrap();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kb: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(value(&r, "system_memory_total_bytes"), total_kb * 1024.0);
    assert!(value(&r, "system_memory_available_bytes") > 0.0);
    assert!(value(&r, "system_load1") >= 0.0);
    let snap = r.snapshot();
    let cpu = snap.family("system_cpu_seconds").unwrap();
    let idle = cpu.find(&["idle"]).unwrap().value().as_f64();
    assert!(idle > 0.0, "idle seconds since boot");
    assert!(cpu.find(&["user"]).is_some() && cpu.find(&["system"]).is_some());
}
