//! The span pool: finished spans' storage is recycled for new spans.

use crate::sync::{thread, Arc, Mutex};
use crate::trace::{SimpleProcessor, SpanData, SpanExporter, TracerProvider};

/// Records each exported span's name and its `who` attribute.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(String, String)>>>);

impl SpanExporter for Recorder {
    fn export(&self, batch: &[Box<SpanData>]) -> crate::Result<()> {
        let mut seen = self.0.lock().unwrap();
        for span in batch {
            let who = span.attributes.iter().find(|kv| kv.key == "who").map(|kv| format!("{:?}", kv.value));
            seen.push((span.name.to_string(), who.unwrap_or_default()));
        }
        Ok(())
    }
}

/// Property: a pooled `SpanData` is never shared by two live spans. Two
/// threads each start, fill and end two spans while finished storage goes
/// back to the pool and out again; every exported span carries its own
/// name and attribute (no aliasing, no stale fields), and all four arrive.
#[test]
fn pooled_span_storage_is_never_shared_by_two_live_spans() {
    super::check(|| {
        let recorder = Recorder::default();
        let provider = TracerProvider::builder().processor(SimpleProcessor::new(recorder.clone())).build();
        let threads: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|who| {
                let tracer = provider.tracer("model");
                thread::spawn(move || {
                    for round in 0..2 {
                        let mut span = tracer.start(format!("{who}{round}"));
                        span.set_attribute("who", who);
                        span.end();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 4, "{seen:?}");
        for (name, who) in &seen {
            assert!(who.contains(&name[..1]), "span {name} carries another span's attribute {who}");
        }
    });
}
