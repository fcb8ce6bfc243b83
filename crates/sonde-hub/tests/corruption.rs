//! The stores' files damaged at random: a property test cuts one file short
//! or overwrites bytes in it at a random offset, then opens the store
//! again. Opening always succeeds; what is read back is exactly what was
//! written (the damage never turns into wrong values); and whatever is
//! missing was reported as lost, unless the cut fell exactly between two
//! records (a shorter file that is whole, which nothing can tell apart).

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use sonde::events::{Event, Severity};
use sonde_dashboard::EventSearch;
use sonde_hub::store::{Fsync, RecordStore, SampleOptions, SampleStore};

const SERIES: usize = 6;
const TICKS: i64 = 330;

fn options() -> SampleOptions {
    SampleOptions { cut_every: 50, fsync: Fsync::Never, ..SampleOptions::default() }
}

fn value(series: usize, t: i64) -> f64 {
    (series as i64 * 1000 + t % 97) as f64 + 0.25
}

fn ids() -> Vec<String> {
    (0..SERIES).map(|s| format!("m{{s=\"{s}\"}}")).collect()
}

/// A store of `TICKS` ticks: sealed blocks, and the last ticks in the log.
fn write_samples(dir: &Path) {
    let store = SampleStore::open(dir, options()).unwrap();
    let ids = ids();
    for t in 1..=TICKS {
        store.append(t * 1000, ids.iter().enumerate().map(|(s, id)| ("m", id.as_str(), value(s, t))));
    }
    store.sync();
}

fn write_events(dir: &Path) {
    let (records, _) = RecordStore::open(dir, Fsync::Never, Duration::from_secs(86_400 * 365 * 100), 1 << 30).unwrap();
    for i in 0..40u64 {
        let event = Event {
            time_unix_nanos: 1_700_000_000_000_000_000 + i,
            severity: Severity::Warn,
            name: format!("event{i}"),
            labels: vec![("n".into(), i.to_string())],
            ..Event::default()
        };
        records.insert_event(&event).unwrap();
    }
    records.upkeep(false, 0);
}

/// Where records start in `path`, as its format lays them out: framed
/// files (a length and a checksum before each payload) or block segments.
fn boundaries(path: &Path, bytes: &[u8]) -> Vec<usize> {
    let word = |at: usize, n: usize| -> Option<u64> {
        let b = bytes.get(at..at + n)?;
        Some(b.iter().rev().fold(0u64, |acc, x| acc << 8 | u64::from(*x)))
    };
    let mut out = vec![0];
    let mut at = 0usize;
    let segment = path.extension().is_some_and(|e| e == "seg");
    while at < bytes.len() {
        let next = if segment {
            let (Some(n), Some(data)) = (word(at + 8, 4), word(at + 32, 8)) else { break };
            at + 40 + n as usize * 20 + data as usize
        } else {
            let Some(len) = word(at, 4) else { break };
            at + 8 + len as usize
        };
        if next > bytes.len() || next <= at {
            break;
        }
        at = next;
        out.push(at);
    }
    out
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.join("samples/wal.log"), dir.join("samples/series.log")];
    let mut segments: Vec<PathBuf> =
        std::fs::read_dir(dir.join("samples/blocks")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    out.extend(segments);
    out.push(dir.join("records.db"));
    out.into_iter().filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0)).collect()
}

#[derive(Clone, Debug)]
enum Damage {
    /// Cut the file at this fraction of its length.
    Cut(f64),
    /// Overwrite these bytes at this fraction of its length.
    Overwrite(f64, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0.0..1.0f64).prop_map(Damage::Cut),
        ((0.0..1.0f64), proptest::collection::vec(any::<u8>(), 1..64)).prop_map(|(f, b)| Damage::Overwrite(f, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn damage_anywhere_loses_only_the_damaged_part_and_says_so(pick in any::<prop::sample::Index>(), damage in damage()) {
        let dir = tempfile::tempdir().unwrap();
        write_samples(&dir.path().join("samples"));
        write_events(dir.path());
        let files = files(dir.path());
        let target = pick.get(&files).clone();
        let mut bytes = std::fs::read(&target).unwrap();
        let whole_cut = match &damage {
            Damage::Cut(f) => {
                let at = (bytes.len() as f64 * f) as usize;
                let whole = boundaries(&target, &bytes).contains(&at);
                bytes.truncate(at);
                whole
            }
            Damage::Overwrite(f, new) => {
                let at = ((bytes.len() as f64 * f) as usize).min(bytes.len() - 1);
                for (i, b) in new.iter().enumerate() {
                    if let Some(old) = bytes.get_mut(at + i) {
                        *old = if *old == *b { !*b } else { *b }; // always a change
                    }
                }
                false
            }
        };
        std::fs::write(&target, &bytes).unwrap();

        // The samples: opening succeeds, nothing read back is wrong, and
        // what is missing was reported.
        let store = SampleStore::open(&dir.path().join("samples"), options()).unwrap();
        let recovery = store.recovery().clone();
        let reported = recovery.lost_bytes > 0 || recovery.lost_samples > 0 || recovery.files_set_aside > 0;
        let mut missing = 0;
        for (s, id) in ids().iter().enumerate() {
            let got = store.range(id, 0, i64::MAX);
            for (t, v) in &got {
                prop_assert_eq!(*v, value(s, t / 1000), "{} at {} after {:?} of {}", id, t, damage, target.display());
            }
            missing += TICKS as usize - got.len();
        }
        // A damaged block is found when read, not when opened: that counts too.
        let text = {
            let registry = sonde::Registry::new();
            store.register_metrics(&registry).unwrap();
            sonde::encode::prometheus_text(&registry.snapshot())
        };
        let damaged_reads = text.lines().any(|l| l.starts_with("sonde_store_damaged_reads_total ") && !l.ends_with(" 0"));
        prop_assert!(
            missing == 0 || reported || damaged_reads || whole_cut,
            "{missing} samples missing, nothing reported, after {:?} of {}", damage, target.display()
        );

        // The events: opening succeeds and nothing read back is wrong.
        let (records, _aside) =
            RecordStore::open(dir.path(), Fsync::Never, Duration::from_secs(86_400 * 365 * 100), 1 << 30).unwrap();
        let events = records.events(&EventSearch { limit: 1000, ..EventSearch::default() }).unwrap_or_default();
        for e in &events {
            let i: u64 = e.name.strip_prefix("event").and_then(|n| n.parse().ok()).unwrap_or(u64::MAX);
            prop_assert!(i < 40, "an event that was never written: {:?}", e);
            prop_assert_eq!(e.time_unix_nanos, 1_700_000_000_000_000_000 + i);
            prop_assert_eq!(&e.labels, &vec![("n".to_string(), i.to_string())]);
        }
    }
}
