fn main() {
    let r = sonde::Registry::builder().self_metrics(false).build().unwrap();
    for f in 0..40 {
        let c = r.counter(&format!("counter_{f}_total")).labels(["instance", "method"]).register().unwrap();
        let g = r.gauge(&format!("gauge_{f}")).labels(["instance", "method"]).register().unwrap();
        for i in 0..100 {
            let inst = format!("instance-{i}");
            c.with(&[&inst, "GET"]).inc_by(i);
            g.with(&[&inst, "GET"]).set(i as f64 * 0.5);
        }
    }
    for f in 0..20 {
        let h = r.histogram(&format!("histogram_{f}_seconds")).labels(["instance", "method"]).register().unwrap();
        for i in 0..100 {
            h.with(&[&format!("instance-{i}"), "GET"]).observe(i as f64 * 0.01);
        }
    }
    let t = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..300 {
        bytes += sonde::encode::prometheus_text(&r.snapshot()).len();
    }
    println!("{:.2} ms per scrape ({bytes} bytes)", t.elapsed().as_secs_f64() * 1e3 / 300.0);
}
