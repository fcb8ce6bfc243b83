#![no_main]
//! StatsD datagrams from the network: parsing and ingesting never panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in sonde_statsd::parse::parse_datagram(&text) {
        let _ = line;
    }
    thread_local! {
        static INGEST: sonde_statsd::StatsdIngest =
            sonde_statsd::StatsdIngest::new(sonde::Registry::new(), sonde::Buckets::default_seconds())
                .unwrap()
                .events(sonde::events::EventLog::builder().retention(100).build());
    }
    INGEST.with(|i| i.ingest(&text));
});
