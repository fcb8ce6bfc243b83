//! A tokio runtime's metrics (its own test binary: its threads would
//! disturb the process-memory comparisons in `proc.rs`).

use sonde::Registry;

fn value(r: &Registry, name: &str) -> f64 {
    r.snapshot().family(name).unwrap_or_else(|| panic!("no {name}")).series().next().unwrap().value().as_f64()
}

#[test]
fn tokio_runtime_metrics() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let r = Registry::new();
    sonde_process::register_tokio_metrics(&r, rt.handle()).unwrap();
    assert_eq!(value(&r, "tokio_workers"), 2.0);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    for _ in 0..3 {
        let rx = rx.clone();
        rt.spawn(async move {
            let _ = tokio::task::spawn_blocking(move || rx.lock().unwrap().recv()).await;
        });
    }
    // The three tasks stay alive (each awaits a blocking receive).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while value(&r, "tokio_alive_tasks") < 3.0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(value(&r, "tokio_alive_tasks"), 3.0);
    drop(tx);
}

/// Tasks spawned from outside a runtime that nobody drives wait in its
/// global queue: the gauge reads exactly how many, then zero once run.
#[test]
fn global_queue_depth_counts_tasks_waiting_to_run() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let r = Registry::new();
    sonde_process::register_tokio_metrics(&r, rt.handle()).unwrap();
    let tasks: Vec<_> = (0..3).map(|_| rt.spawn(async {})).collect();
    assert_eq!(value(&r, "tokio_global_queue_depth"), 3.0);
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(value(&r, "tokio_global_queue_depth"), 0.0);
}
