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
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(value(&r, "tokio_alive_tasks") >= 3.0);
    drop(tx);
    assert!(value(&r, "tokio_global_queue_depth") >= 0.0);
}
