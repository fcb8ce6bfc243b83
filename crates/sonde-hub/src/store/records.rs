//! Spans and events on disk: SQLite (bundled) in WAL mode. Spans are kept
//! as their OTLP protobuf with the columns the trace list filters on, and
//! a `traces` table kept up to date per span for the list itself; events
//! as OTLP log records of their fields (labels beside them as JSON, so an
//! event reads back as it was kept), with an FTS5 index of their text.
//!
//! Every write is one transaction committed before it returns, so what the
//! hub acknowledged is in the operating system's hands; `fsync` chooses
//! SQLite's `synchronous` (FULL, NORMAL with a periodic checkpoint, OFF).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prost::Message;
use rusqlite::{params, Connection, OptionalExtension};
use sonde::events::Event;
use sonde::trace::TraceId;
use sonde_dashboard::EventSearch;
use sonde_dashboard::{TraceFilter, TraceSummary};
use sonde_otlp::proto::logs::v1::LogRecord;
use sonde_otlp::proto::trace::v1::{status::StatusCode, Span};
use sonde_otlp::receive::{event_from, StoredSpan};

use super::{move_aside, Fsync};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spans(
  trace_id BLOB NOT NULL, service TEXT NOT NULL, start_ns INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS spans_trace ON spans(trace_id);
CREATE INDEX IF NOT EXISTS spans_start ON spans(start_ns);
CREATE TABLE IF NOT EXISTS traces(
  trace_id BLOB PRIMARY KEY, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, spans INTEGER NOT NULL,
  error INTEGER NOT NULL, name TEXT NOT NULL, service TEXT NOT NULL, rooted INTEGER NOT NULL,
  name_start INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS traces_start ON traces(start_ns);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, severity INTEGER NOT NULL, trace_id BLOB, body BLOB NOT NULL,
  labels TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_time ON events(time_ns);
CREATE INDEX IF NOT EXISTS events_trace ON events(trace_id);
CREATE VIRTUAL TABLE IF NOT EXISTS events_text USING fts5(text);
";

/// The trace row for one span: the earliest start, the latest end, the
/// root's (else the earliest span's) name and service.
const UPSERT_TRACE: &str = "
INSERT INTO traces VALUES(?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?2)
ON CONFLICT(trace_id) DO UPDATE SET
  start_ns = min(start_ns, excluded.start_ns),
  end_ns = max(end_ns, excluded.end_ns),
  spans = spans + 1,
  error = max(error, excluded.error),
  name = CASE WHEN rooted THEN name WHEN excluded.rooted OR excluded.name_start < name_start
              THEN excluded.name ELSE name END,
  service = CASE WHEN rooted THEN service WHEN excluded.rooted OR excluded.name_start < name_start
                 THEN excluded.service ELSE service END,
  name_start = CASE WHEN rooted THEN name_start WHEN excluded.rooted OR excluded.name_start < name_start
                    THEN excluded.name_start ELSE name_start END,
  rooted = max(rooted, excluded.rooted)";

/// Spans and events in SQLite. Cheap to clone.
#[derive(Clone)]
pub struct RecordStore(Arc<Shared>);

struct Shared {
    db: Mutex<Connection>,
    retention: Duration,
    max_bytes: u64,
    /// Bytes written since the size was last checked against the budget.
    unchecked: AtomicU64,
    /// Retention or checkpoint runs that failed.
    upkeep_failures: AtomicU64,
}

/// The most the write-ahead log may hold between checkpoints: an eighth of
/// the budget, within bounds. The tables get the rest of the budget, so
/// the files together stay within it.
fn log_limit(max_bytes: u64) -> u64 {
    (max_bytes / 8).min(64 << 20).max((256 << 10).min(max_bytes / 4))
}

fn configure(db: &Connection, fsync: Fsync, max_bytes: u64) -> rusqlite::Result<()> {
    // Only takes effect on a new database: freed pages can then be given back.
    db.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    // A checkpoint once the log holds its share, and the log cut back to it.
    let page: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    db.pragma_update(None, "wal_autocheckpoint", (log_limit(max_bytes) as i64 / page.max(512)).max(16))?;
    db.pragma_update(None, "journal_size_limit", log_limit(max_bytes) as i64)?;
    let sync = match fsync {
        Fsync::Always => "FULL",
        Fsync::Interval(_) => "NORMAL",
        Fsync::Never => "OFF",
    };
    db.pragma_update(None, "synchronous", sync)?;
    db.busy_timeout(Duration::from_secs(5))?;
    db.execute_batch(SCHEMA)?;
    let ok: String = db.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT), Some(ok)));
    }
    Ok(())
}

impl RecordStore {
    /// Opens (or creates) `records.db` in `dir`. A database SQLite cannot
    /// open or check is moved into `damaged/` and a new one started.
    ///
    /// # Errors
    ///
    /// SQLite's error when even a fresh database cannot be created.
    pub fn open(dir: &Path, fsync: Fsync, retention: Duration, max_bytes: u64) -> Result<(Self, u64), crate::Error> {
        let path = dir.join("records.db");
        let mut set_aside_files = 0;
        let db = match Connection::open(&path).and_then(|db| configure(&db, fsync, max_bytes).map(|()| db)) {
            Ok(db) => db,
            Err(_) => {
                for suffix in ["", "-wal", "-shm"] {
                    let file = dir.join(format!("records.db{suffix}"));
                    if file.exists() {
                        match move_aside(&file, &dir.join("damaged")) {
                            Ok(_) => set_aside_files += 1,
                            // Cannot be kept: it still must not stop the hub.
                            Err(_) => std::fs::remove_file(&file)?,
                        }
                    }
                }
                let db = Connection::open(&path)?;
                configure(&db, fsync, max_bytes)?;
                db
            }
        };
        // The tables' share of the budget: the rest is the log's.
        let max_bytes = max_bytes.saturating_sub(log_limit(max_bytes));
        let store = Self(Arc::new(Shared {
            db: Mutex::new(db),
            retention,
            max_bytes,
            unchecked: AtomicU64::new(0),
            upkeep_failures: AtomicU64::new(0),
        }));
        Ok((store, set_aside_files))
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.0.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps spans, in one transaction.
    ///
    /// # Errors
    ///
    /// SQLite's error (nothing of the batch is kept then).
    pub fn insert_spans(&self, spans: &[Arc<StoredSpan>]) -> rusqlite::Result<()> {
        let mut written = 0;
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut span_row = tx.prepare_cached("INSERT INTO spans VALUES(?1, ?2, ?3, ?4)")?;
            let mut trace_row = tx.prepare_cached(UPSERT_TRACE)?;
            for s in spans {
                let sp = &s.span;
                let error = sp.status.as_ref().is_some_and(|st| st.code == StatusCode::Error as i32);
                let start = sp.start_time_unix_nano as i64;
                let body = sp.encode_to_vec();
                written += body.len() as u64 + 64;
                span_row.execute(params![sp.trace_id, s.service, start, body])?;
                trace_row.execute(params![
                    sp.trace_id,
                    start,
                    sp.end_time_unix_nano as i64,
                    error,
                    sp.name,
                    s.service,
                    sp.parent_span_id.is_empty()
                ])?;
            }
        }
        tx.commit()?;
        drop(db);
        self.wrote(written)
    }

    /// Counts `bytes` written; past a sixteenth of the budget since the
    /// last check, the size is checked and the oldest records deleted if
    /// it is over, so the budget holds between the timed retention runs.
    fn wrote(&self, bytes: u64) -> rusqlite::Result<()> {
        let before = self.0.unchecked.fetch_add(bytes, Relaxed);
        if before + bytes < self.0.max_bytes / 16 {
            return Ok(());
        }
        self.0.unchecked.store(0, Relaxed);
        self.trim_to_budget()
    }

    /// Keeps one event.
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn insert_event(&self, event: &Event) -> rusqlite::Result<()> {
        let mut record = sonde_otlp::log_record(event);
        record.attributes.truncate(event.fields.len()); // the labels are kept apart
        let labels = serde_json::to_string(&event.labels).unwrap_or_default();
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.prepare_cached("INSERT INTO events(time_ns, severity, trace_id, body, labels) VALUES(?1, ?2, ?3, ?4, ?5)")?
            .execute(params![
                event.time_unix_nanos as i64,
                event.severity as i32,
                event.trace_id.map(|t| t.to_bytes().to_vec()),
                record.encode_to_vec(),
                labels
            ])?;
        let id = tx.last_insert_rowid();
        tx.prepare_cached("INSERT INTO events_text(rowid, text) VALUES(?1, ?2)")?
            .execute(params![id, EventSearch::text_of(event)])?;
        tx.commit()?;
        drop(db);
        self.wrote(record.encoded_len() as u64 + labels.len() as u64 + 64)
    }

    /// Trace summaries matching `filter`.
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn traces(&self, filter: &TraceFilter) -> rusqlite::Result<Vec<TraceSummary>> {
        let order = if filter.slowest_first { "end_ns - start_ns DESC" } else { "start_ns DESC" };
        let sql = format!(
            "SELECT trace_id, name, service, start_ns, end_ns - start_ns, spans, error FROM traces
             WHERE (?1 IS NULL OR service = ?1) AND (?2 IS NULL OR instr(name, ?2) > 0) AND (?3 = 0 OR error = 1)
               AND end_ns - start_ns >= ?4
             ORDER BY {order} LIMIT ?5"
        );
        let db = self.db();
        let mut stmt = db.prepare_cached(&sql)?;
        let limit = if filter.limit == 0 { 100 } else { filter.limit } as i64;
        let rows = stmt.query_map(
            params![filter.service, filter.name, filter.errors_only, filter.min_duration_nanos as i64, limit],
            |r| {
                Ok(TraceSummary {
                    trace_id: TraceId::from_bytes(r.get::<_, [u8; 16]>(0)?).to_string(),
                    name: r.get(1)?,
                    service: r.get(2)?,
                    start_unix_nanos: r.get::<_, i64>(3)? as u64,
                    duration_nanos: r.get::<_, i64>(4)?.max(0) as u64,
                    spans: r.get::<_, i64>(5)? as usize,
                    error: r.get(6)?,
                })
            },
        )?;
        rows.collect()
    }

    /// The spans of one trace, by start time.
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn trace(&self, trace_id: TraceId) -> rusqlite::Result<Vec<Arc<StoredSpan>>> {
        let db = self.db();
        let mut stmt = db.prepare_cached("SELECT service, body FROM spans WHERE trace_id = ?1 ORDER BY start_ns")?;
        let rows = stmt.query_map(params![trace_id.to_bytes().to_vec()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (service, body) = row?;
            if let Ok(span) = Span::decode(&body[..]) {
                out.push(Arc::new(StoredSpan { service, span }));
            }
        }
        Ok(out)
    }

    fn events_where(&self, sql: &str, args: impl rusqlite::Params) -> rusqlite::Result<Vec<Arc<Event>>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(sql)?;
        let rows = stmt.query_map(args, |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (body, labels) = row?;
            if let Ok(record) = LogRecord::decode(&body[..]) {
                out.push(Arc::new(event_from(&record, serde_json::from_str(&labels).unwrap_or_default())));
            }
        }
        Ok(out)
    }

    /// Events matching `query`, oldest first (the newest `limit` of them).
    ///
    /// # Errors
    ///
    /// SQLite's error (a malformed search cannot occur: the text is
    /// searched as words, quoted).
    pub fn events(&self, query: &EventSearch) -> rusqlite::Result<Vec<Arc<Event>>> {
        let limit = if query.limit == 0 { 100 } else { query.limit } as i64;
        let min = query.min_severity.map_or(0, |s| s as i32);
        let words: Vec<String> = query
            .text
            .iter()
            .flat_map(|t| t.split_whitespace())
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect();
        let mut out = if words.is_empty() {
            self.events_where(
                "SELECT body, labels FROM events WHERE severity >= ?1 ORDER BY time_ns DESC, id DESC LIMIT ?2",
                params![min, limit],
            )?
        } else {
            self.events_where(
                "SELECT e.body, e.labels FROM events_text JOIN events e ON e.id = events_text.rowid
                 WHERE events_text MATCH ?1 AND e.severity >= ?2 ORDER BY e.time_ns DESC, e.id DESC LIMIT ?3",
                params![words.join(" "), min, limit],
            )?
        };
        out.reverse();
        Ok(out)
    }

    /// The events of one trace, oldest first.
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn trace_events(&self, trace_id: TraceId) -> rusqlite::Result<Vec<Arc<Event>>> {
        self.events_where(
            "SELECT body, labels FROM events WHERE trace_id = ?1 ORDER BY time_ns, id LIMIT 10000",
            params![trace_id.to_bytes().to_vec()],
        )
    }

    /// Deletes spans and events past the retention time (relative to
    /// `now_ns`), then the oldest stretch of time, in proportion to the
    /// excess, while the database is over its byte budget; gives freed
    /// pages back and checkpoints the log.
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn maintain(&self, now_ns: u64) -> rusqlite::Result<()> {
        let cutoff = now_ns.saturating_sub(self.0.retention.as_nanos() as u64) as i64;
        self.delete_before(cutoff)?;
        self.trim_to_budget()?;
        self.checkpoint()
    }

    /// Deletes the oldest spans and events while the tables hold more than
    /// their budget.
    fn trim_to_budget(&self) -> rusqlite::Result<()> {
        for _ in 0..32 {
            let bytes = self.bytes()?;
            if bytes <= self.0.max_bytes {
                break;
            }
            // Delete the oldest stretch of time in proportion to the excess.
            let share = ((bytes - self.0.max_bytes) as f64 / bytes as f64 + 0.05).min(0.5);
            let db = self.db();
            let (oldest, newest): (Option<i64>, Option<i64>) = db
                .query_row(
                    "SELECT min(t), max(t) FROM (SELECT start_ns AS t FROM spans UNION ALL SELECT time_ns FROM events)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .unwrap_or_default();
            drop(db);
            let (Some(old), Some(new)) = (oldest, newest) else { break };
            self.delete_before(old + ((new - old) as f64 * share) as i64 + 1)?;
            self.db().execute_batch("PRAGMA incremental_vacuum")?;
        }
        Ok(())
    }

    /// Copies the log into the database, syncing both (what the interval
    /// fsync policy runs on its timer).
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn checkpoint(&self) -> rusqlite::Result<()> {
        self.db().query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
    }

    fn delete_before(&self, cutoff: i64) -> rusqlite::Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute("DELETE FROM spans WHERE start_ns < ?1", params![cutoff])?;
        tx.execute("DELETE FROM traces WHERE start_ns < ?1", params![cutoff])?;
        tx.execute(
            "DELETE FROM events_text WHERE rowid IN (SELECT id FROM events WHERE time_ns < ?1)",
            params![cutoff],
        )?;
        tx.execute("DELETE FROM events WHERE time_ns < ?1", params![cutoff])?;
        tx.commit()
    }

    /// [`RecordStore::maintain`] when `maintain`, then
    /// [`RecordStore::checkpoint`]: what the hub runs on its timers; a
    /// failure is counted in `sonde_store_records_upkeep_failed_total`.
    pub fn upkeep(&self, maintain: bool, now_ns: u64) {
        let result = if maintain { self.maintain(now_ns) } else { self.checkpoint() };
        if result.is_err() {
            self.0.upkeep_failures.fetch_add(1, Relaxed);
        }
    }

    /// Exposes `sonde_store_records_bytes` and
    /// `sonde_store_records_upkeep_failed_total`.
    ///
    /// # Errors
    ///
    /// The registry's error when a name is already declared as another kind.
    pub fn register_metrics(&self, registry: &sonde::Registry) -> sonde::Result<()> {
        let store = self.clone();
        registry.gauge_fn("sonde_store_records_bytes", "Bytes the span and event database uses.", move || {
            store.bytes().unwrap_or(0) as f64
        })?;
        let shared = self.0.clone();
        registry.counter_fn(
            "sonde_store_records_upkeep_failed_total",
            "Retention or checkpoint runs of the span and event database that failed.",
            move || shared.upkeep_failures.load(Relaxed) as f64,
        )
    }

    /// Bytes the database uses (pages in use, not counting free ones).
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn bytes(&self) -> rusqlite::Result<u64> {
        let db = self.db();
        let pages: i64 = db.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let free: i64 = db.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let size: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(((pages - free).max(0) * size) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde::events::Severity;
    use sonde::trace::{KeyValue, SpanId};

    use crate::fixtures::span;

    fn open(dir: &Path) -> RecordStore {
        RecordStore::open(dir, Fsync::Never, Duration::from_secs(3600), 1 << 30).unwrap().0
    }

    #[test]
    fn traces_are_listed_filtered_and_come_back_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            // The child arrives first: the trace is named by it until the root comes.
            store.insert_spans(&[span(1, 2, Some(1), 20, 50, true)]).unwrap();
            assert_eq!(store.traces(&TraceFilter::default()).unwrap()[0].name, "s2");
            store.insert_spans(&[span(1, 1, None, 10, 100, false), span(2, 3, None, 30, 40, false)]).unwrap();
        }
        let store = open(dir.path());
        let all = store.traces(&TraceFilter::default()).unwrap();
        assert_eq!(all.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["s3", "s1"], "latest first");
        assert_eq!((all[1].spans, all[1].duration_nanos, all[1].error), (2, 90, true));
        assert_eq!(all[1].trace_id, "01".repeat(16));
        let slow = store.traces(&TraceFilter { slowest_first: true, ..Default::default() }).unwrap();
        assert_eq!(slow[0].name, "s1");
        assert_eq!(store.traces(&TraceFilter { errors_only: true, ..Default::default() }).unwrap().len(), 1);
        let by_service = TraceFilter { service: Some("svc2".into()), ..Default::default() };
        assert_eq!(store.traces(&by_service).unwrap().len(), 1);
        let by_name = TraceFilter { name: Some("1".into()), min_duration_nanos: 50, ..Default::default() };
        assert_eq!(store.traces(&by_name).unwrap().len(), 1);
        let spans = store.trace(TraceId::from_bytes([1; 16])).unwrap();
        assert_eq!(spans.iter().map(|s| s.span.name.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
    }

    #[test]
    fn events_are_found_by_text_severity_and_trace() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let trace = TraceId::from_bytes([9; 16]);
        for (i, (name, severity, field)) in [
            ("user_login", Severity::Info, "alice"),
            ("disk_full", Severity::Error, "volume /var nearly \"full\""),
            ("user_logout", Severity::Info, "bob"),
        ]
        .into_iter()
        .enumerate()
        {
            let e = Event {
                time_unix_nanos: 1000 + i as u64,
                severity,
                name: name.into(),
                fields: vec![KeyValue::new("detail", field.to_owned())],
                labels: vec![("source".into(), "web".into())],
                trace_id: (i == 1).then_some(trace),
                span_id: (i == 1).then(|| SpanId::from_bytes([3; 8])),
            };
            store.insert_event(&e).unwrap();
        }
        let names =
            |q: EventSearch| -> Vec<String> { store.events(&q).unwrap().iter().map(|e| e.name.clone()).collect() };
        assert_eq!(names(EventSearch::default()), ["user_login", "disk_full", "user_logout"]);
        assert_eq!(names(EventSearch { text: Some("nearly".into()), ..Default::default() }), ["disk_full"]);
        assert_eq!(names(EventSearch { text: Some("\"full\" var".into()), ..Default::default() }), ["disk_full"]);
        assert_eq!(names(EventSearch { text: Some("bob".into()), ..Default::default() }), ["user_logout"]);
        assert_eq!(names(EventSearch { text: Some("AND OR (".into()), ..Default::default() }), Vec::<String>::new());
        let errors = EventSearch { min_severity: Some(Severity::Warn), ..Default::default() };
        assert_eq!(names(errors), ["disk_full"]);
        assert_eq!(names(EventSearch { limit: 1, ..Default::default() }), ["user_logout"]);
        let of_trace = store.trace_events(trace).unwrap();
        assert_eq!(of_trace.len(), 1);
        assert_eq!(of_trace[0].span_id, Some(SpanId::from_bytes([3; 8])));
        let detail = KeyValue::new("detail", "volume /var nearly \"full\"".to_owned());
        assert_eq!(of_trace[0].fields, vec![detail]);
        assert_eq!(of_trace[0].labels, vec![("source".to_owned(), "web".to_owned())], "labels read back as labels");
    }

    #[test]
    fn retention_deletes_old_records_and_a_damaged_database_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        store
            .insert_spans(&[
                span(1, 1, None, 1_000, 2_000, false),
                span(2, 2, None, 5_000_000_000_000, 5_000_000_001_000, false),
            ])
            .unwrap();
        store.maintain(5_000_000_000_000 + 1).unwrap();
        let left = store.traces(&TraceFilter::default()).unwrap();
        assert_eq!(left.len(), 1, "the span older than an hour is gone");
        drop(store);

        // Over the byte budget: the oldest go until it fits.
        let budget = 256 << 10;
        let small = tempfile::tempdir().unwrap();
        let (store, _) = RecordStore::open(small.path(), Fsync::Never, Duration::from_secs(3600), budget).unwrap();
        for i in 0..200u64 {
            let mut s = span((i % 250) as u8 + 1, 1, None, 1_000_000 + i, 2_000_000 + i, false);
            Arc::get_mut(&mut s).unwrap().span.name = "x".repeat(4000);
            store.insert_spans(&[s]).unwrap();
            // Inserts check the size as they go: the budget holds between retention runs.
            assert!(store.bytes().unwrap() <= budget, "{} after {i}", store.bytes().unwrap());
        }
        store.maintain(3_000_000).unwrap();
        assert!(store.bytes().unwrap() <= budget, "{}", store.bytes().unwrap());
        let kept = store.traces(&TraceFilter { limit: 1000, ..Default::default() }).unwrap();
        assert!(!kept.is_empty() && kept.len() < 200);
        assert_eq!(kept[0].start_unix_nanos, 1_000_199, "the newest stay");
        std::fs::write(dir.path().join("records.db"), b"not a database at all, not at all").unwrap();
        let _ = std::fs::remove_file(dir.path().join("records.db-wal"));
        let (store, aside) = RecordStore::open(dir.path(), Fsync::Never, Duration::from_secs(60), 1 << 30).unwrap();
        assert!(aside >= 1);
        assert!(store.traces(&TraceFilter::default()).unwrap().is_empty());
        assert!(dir.path().join("damaged").read_dir().unwrap().count() >= 1);
    }
}
