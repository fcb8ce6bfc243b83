//! Pushing to a Prometheus Pushgateway.

use std::time::Duration;

use base64::Engine;
use sonde::{encode, Snapshot};
use sonde_export::{Error, Exporter};

/// PUT replaces the group's metrics; POST replaces only same-named ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PushMethod {
    /// Replace every metric of the group (the usual choice).
    #[default]
    Put,
    /// Replace only metrics with the same names.
    Post,
}

/// Pushes snapshots to `<url>/metrics/job/<job>{/<label>/<value>}`.
///
/// The body is Prometheus text without sample timestamps (the Pushgateway
/// refuses them). A job or grouping value that is empty or holds a `/` is
/// sent as `<label>@base64/<urlsafe base64>`, which the Pushgateway decodes
/// (the `prometheus` crate rejects such values instead). 429 and 5xx answers
/// are retryable; other failures are not. Drive it with
/// `sonde_export::PeriodicExporter`.
pub struct PushgatewayExporter {
    url: String,
    method: PushMethod,
    auth: Option<String>,
    delete_on_shutdown: bool,
    agent: ureq::Agent,
}

/// Options for a [`PushgatewayExporter`].
#[derive(Clone, Debug)]
pub struct PushgatewayBuilder {
    base: String,
    job: String,
    grouping: Vec<(String, String)>,
    method: PushMethod,
    auth: Option<(String, String)>,
    delete_on_shutdown: bool,
    timeout: Duration,
}

impl PushgatewayBuilder {
    /// Adds a grouping label.
    pub fn grouping(mut self, label: &str, value: &str) -> Self {
        self.grouping.push((label.into(), value.into()));
        self
    }

    /// PUT (default) or POST.
    pub fn method(mut self, method: PushMethod) -> Self {
        self.method = method;
        self
    }

    /// HTTP basic auth.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.into(), password.into()));
        self
    }

    /// Deletes the group when the exporter shuts down.
    pub fn delete_on_shutdown(mut self, on: bool) -> Self {
        self.delete_on_shutdown = on;
        self
    }

    /// Request timeout (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Validates the options.
    ///
    /// # Errors
    ///
    /// [`Error`] when the gateway URL or a grouping label name is invalid.
    pub fn build(self) -> Result<PushgatewayExporter, Error> {
        let bad = |m: String| Error::Other { exporter: "pushgateway".into(), message: m, retryable: false };
        if !(self.base.starts_with("http://") || self.base.starts_with("https://")) {
            return Err(bad(format!("the Pushgateway URL must start with http:// or https://, got {:?}", self.base)));
        }
        if self.job.is_empty() {
            return Err(bad("the job name must not be empty".into()));
        }
        for (label, _) in &self.grouping {
            let ok = label.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok || label == "job" {
                return Err(bad(format!("invalid grouping label {label:?}")));
            }
        }
        let mut url = format!("{}/metrics/{}", self.base.trim_end_matches('/'), segment("job", &self.job));
        for (label, value) in &self.grouping {
            url.push('/');
            url.push_str(&segment(label, value));
        }
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(self.timeout)).http_status_as_error(false).build().into();
        let auth = self
            .auth
            .map(|(u, p)| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))));
        Ok(PushgatewayExporter { url, method: self.method, auth, delete_on_shutdown: self.delete_on_shutdown, agent })
    }
}

/// `label/value`, or `label@base64/<urlsafe>` when the value needs it.
fn segment(label: &str, value: &str) -> String {
    let plain = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
    if plain {
        format!("{label}/{value}")
    } else {
        let enc = base64::engine::general_purpose::URL_SAFE.encode(value.as_bytes());
        // An empty value encodes to nothing; the Pushgateway takes "=" for it.
        format!("{label}@base64/{}", if enc.is_empty() { "=".to_string() } else { enc })
    }
}

impl PushgatewayExporter {
    /// Options for pushing to `url` (like `http://127.0.0.1:9091`) as `job`.
    pub fn builder(url: &str, job: &str) -> PushgatewayBuilder {
        PushgatewayBuilder {
            base: url.into(),
            job: job.into(),
            grouping: Vec::new(),
            method: PushMethod::Put,
            auth: None,
            delete_on_shutdown: false,
            timeout: Duration::from_secs(10),
        }
    }

    /// The full URL of the group.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn check(&self, result: Result<http::Response<ureq::Body>, ureq::Error>) -> Result<(), Error> {
        let response = result.map_err(|e| Error::transport("pushgateway", e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(Error::from_status("pushgateway", status, &response.into_body().read_to_string().unwrap_or_default()))
    }
}

impl Exporter for PushgatewayExporter {
    fn name(&self) -> &str {
        "pushgateway"
    }

    fn export(&self, snapshot: &Snapshot) -> Result<(), Error> {
        let body = encode::prometheus_text(snapshot);
        let request = match self.method {
            PushMethod::Put => self.agent.put(&self.url),
            PushMethod::Post => self.agent.post(&self.url),
        };
        let request = request.header("Content-Type", encode::PROMETHEUS_TEXT_CONTENT_TYPE);
        let request = match &self.auth {
            Some(a) => request.header("Authorization", a),
            None => request,
        };
        self.check(request.send(body.as_bytes()))
    }

    fn shutdown(&self) -> Result<(), Error> {
        if !self.delete_on_shutdown {
            return Ok(());
        }
        let request = self.agent.delete(&self.url);
        let request = match &self.auth {
            Some(a) => request.header("Authorization", a),
            None => request,
        };
        self.check(request.call())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_segments() {
        assert_eq!(segment("instance", "web-1"), "instance/web-1");
        assert_eq!(segment("path", "/var/tmp"), "path@base64/L3Zhci90bXA=");
        assert_eq!(segment("region", ""), "region@base64/=");
        let e =
            PushgatewayExporter::builder("http://127.0.0.1:9091/", "batch").grouping("path", "a/b").build().unwrap();
        assert_eq!(e.url(), "http://127.0.0.1:9091/metrics/job/batch/path@base64/YS9i");
        assert!(PushgatewayExporter::builder("127.0.0.1:9091", "j").build().is_err());
        assert!(PushgatewayExporter::builder("http://x", "").build().is_err());
        assert!(PushgatewayExporter::builder("http://x", "j").grouping("job", "x").build().is_err());
        assert!(PushgatewayExporter::builder("http://x", "j").grouping("bad-label", "x").build().is_err());
    }
}
