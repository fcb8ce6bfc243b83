//! Sonde events as an `ExportLogsServiceRequest`.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use sonde::events::Event;

use super::common::{attributes, scope, string, string_attributes};

/// One event as a log record: its name as body and event name, its fields
/// then its labels as attributes, its trace and span ids.
pub fn log_record(e: &Event) -> LogRecord {
    let mut attrs = attributes(&e.fields);
    attrs.extend(string_attributes(e.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    LogRecord {
        time_unix_nano: e.time_unix_nanos,
        observed_time_unix_nano: e.time_unix_nanos,
        severity_number: e.severity.number(),
        severity_text: e.severity.as_str().to_owned(),
        body: Some(string(&e.name)),
        attributes: attrs,
        flags: if e.trace_id.is_some() { 1 } else { 0 },
        trace_id: e.trace_id.map(|t| t.to_bytes().to_vec()).unwrap_or_default(),
        span_id: e.span_id.map(|s| s.to_bytes().to_vec()).unwrap_or_default(),
        event_name: e.name.clone(),
        ..Default::default()
    }
}

/// One request for `events` of the service described by `resource`.
pub fn logs_request(events: &[Arc<Event>], resource: &[(String, String)]) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(super::resource(resource)),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope("sonde")),
                log_records: events.iter().map(|e| log_record(e)).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
