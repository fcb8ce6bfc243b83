//! Choosing the exposition format from an `Accept` header.

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4.
    PrometheusText,
    /// OpenMetrics 1.0.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf, the
    /// one format that carries native histograms.
    Protobuf,
}

impl Format {
    /// The exact `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::PrometheusText => sonde::encode::PROMETHEUS_TEXT_CONTENT_TYPE,
            Self::OpenMetrics => sonde::encode::OPENMETRICS_CONTENT_TYPE,
            Self::Protobuf => crate::protobuf::PROTOBUF_CONTENT_TYPE,
        }
    }
}

/// Picks the format with the highest q-value in `accept`; ties go to the
/// range listed first; no header, nothing recognised, or `q=0` everywhere
/// falls back to Prometheus text (which every scraper reads). Protobuf is
/// chosen only for `application/vnd.google.protobuf` with
/// `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`, as
/// client_golang negotiates it.
///
/// ```
/// use sonde_prometheus::{negotiate, Format};
/// let prom3 = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/// assert_eq!(negotiate(Some(prom3)), Format::OpenMetrics);
/// let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8";
/// assert_eq!(negotiate(Some(native)), Format::Protobuf);
/// assert_eq!(negotiate(Some("text/plain")), Format::PrometheusText);
/// assert_eq!(negotiate(None), Format::PrometheusText);
/// ```
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::PrometheusText;
    };
    let mut best: Option<(f32, Format)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f32;
        let (mut proto, mut delimited) = (false, false);
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                let (k, v) = (k.trim(), v.trim().trim_matches('"'));
                if k.eq_ignore_ascii_case("q") {
                    q = v.parse().unwrap_or(0.0);
                } else if k.eq_ignore_ascii_case("proto") {
                    proto = v == "io.prometheus.client.MetricFamily";
                } else if k.eq_ignore_ascii_case("encoding") {
                    delimited = v.eq_ignore_ascii_case("delimited");
                }
            }
        }
        let format = match media.as_str() {
            "application/vnd.google.protobuf" if proto && delimited => Format::Protobuf,
            "application/openmetrics-text" => Format::OpenMetrics,
            "text/plain" | "text/*" | "*/*" => Format::PrometheusText,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, format));
        }
    }
    best.map(|(_, f)| f).unwrap_or(Format::PrometheusText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ("application/openmetrics-text", Format::OpenMetrics),
            ("application/openmetrics-text; version=1.0.0; charset=utf-8", Format::OpenMetrics),
            ("text/plain;q=0.9, application/openmetrics-text;q=0.8", Format::PrometheusText),
            ("text/plain;q=0.5, application/openmetrics-text;q=0.8", Format::OpenMetrics),
            ("application/openmetrics-text;q=0", Format::PrometheusText),
            ("application/json", Format::PrometheusText),
            ("", Format::PrometheusText),
            ("*/*", Format::PrometheusText),
            ("APPLICATION/OPENMETRICS-TEXT;Q=1", Format::OpenMetrics),
            ("application/openmetrics-text;q=garbage,text/plain", Format::PrometheusText),
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
                Format::Protobuf,
            ),
            (
                "application/vnd.google.protobuf; proto=\"io.prometheus.client.MetricFamily\"; encoding=delimited",
                Format::Protobuf,
            ),
            ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", Format::PrometheusText),
            ("application/vnd.google.protobuf;proto=other.Message;encoding=delimited", Format::PrometheusText),
            ("application/vnd.google.protobuf", Format::PrometheusText),
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.1,text/plain",
                Format::PrometheusText,
            ),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(Some(accept)), want, "{accept}");
        }
    }
}
