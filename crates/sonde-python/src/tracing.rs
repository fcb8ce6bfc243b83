//! Spans from Python on Sonde's tracer. The current span lives in a
//! `contextvars.ContextVar`, so it follows threads (each has its own) and
//! asyncio tasks (each starts with a copy of its creator's); a span used as
//! a context manager is current inside the block.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use sonde::trace::propagation::{format_traceparent, parse_traceparent};
use sonde::trace::{KeyValue, SpanContext, SpanKind, Status, TracerProvider, Value};

use crate::traces::{Keeper, Spans, KEPT_SPANS};

use crate::instrument::{text, value_error};

static CURRENT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The `ContextVar` holding the current span.
fn current_var(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    CURRENT
        .get_or_try_init(py, || {
            let var = py.import("contextvars")?.getattr("ContextVar")?.call1(("sonde_current_span",))?;
            Ok::<_, PyErr>(var.unbind())
        })
        .map(|v| v.bind(py))
}

/// The current span, or None.
#[pyfunction]
pub(crate) fn current_span(py: Python<'_>) -> PyResult<Option<Py<Span>>> {
    let value = current_var(py)?.call_method1("get", (py.None(),))?;
    Ok(value.cast_into::<Span>().ok().map(Bound::unbind))
}

/// A span's identity: trace id, span id and flags, as carried between
/// processes in a W3C `traceparent` header.
#[pyclass(frozen, name = "SpanContext", module = "sonde._native")]
#[derive(Clone)]
pub(crate) struct SpanContextHandle(pub(crate) SpanContext);

#[pymethods]
impl SpanContextHandle {
    /// The context a `traceparent` header carries (None when it is
    /// malformed).
    #[staticmethod]
    fn from_traceparent(header: &str) -> Option<Self> {
        parse_traceparent(header).map(|mut c| {
            c.remote = true;
            Self(c)
        })
    }

    /// The `traceparent` header of this context.
    fn traceparent(&self) -> String {
        format_traceparent(&self.0)
    }

    /// The trace id, 32 lower-case hex digits.
    #[getter]
    fn trace_id(&self) -> String {
        self.0.trace_id.to_string()
    }

    /// The span id, 16 lower-case hex digits.
    #[getter]
    fn span_id(&self) -> String {
        self.0.span_id.to_string()
    }

    /// Whether the trace is sampled.
    #[getter]
    fn sampled(&self) -> bool {
        self.0.is_sampled()
    }

    /// True when it came from another process.
    #[getter]
    fn remote(&self) -> bool {
        self.0.remote
    }

    fn __repr__(&self) -> String {
        format!("SpanContext({})", format_traceparent(&self.0))
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.0.trace_id == other.0.trace_id && self.0.span_id == other.0.span_id
    }
}

/// A span: a named, timed operation with attributes, events, links and a
/// status. Ends at `end()` or when its `with` block exits (an exception
/// sets status ERROR and adds an `exception` event).
#[pyclass(module = "sonde._native")]
pub(crate) struct Span {
    span: sonde::trace::Span,
    name: String,
    parent: Option<SpanContext>,
    tokens: Vec<Py<PyAny>>,
}

fn value_of(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    // bool first: a Python bool is an int too.
    if v.is_instance_of::<PyBool>() {
        return Ok(Value::from(v.extract::<bool>()?));
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(match v.extract::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(text(v)?),
        });
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(Value::from(v.extract::<f64>()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(Value::from(v.extract::<String>()?));
    }
    if let Ok(list) = v.extract::<Vec<bool>>() {
        return Ok(Value::from(list));
    }
    if let Ok(list) = v.extract::<Vec<i64>>() {
        return Ok(Value::from(list));
    }
    if let Ok(list) = v.extract::<Vec<f64>>() {
        return Ok(Value::from(list));
    }
    if let Ok(list) = v.extract::<Vec<String>>() {
        return Ok(Value::from(list));
    }
    Ok(Value::from(text(v)?))
}

/// Attributes from a dict of names to str, bool, int, float or lists of
/// one of them (anything else is recorded as its `str()`).
pub(crate) fn key_values(attributes: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<KeyValue>> {
    let Some(attributes) = attributes else { return Ok(Vec::new()) };
    let mut out = Vec::with_capacity(attributes.len());
    for (k, v) in attributes.iter() {
        let key: String = text(&k)?;
        out.push(KeyValue::new(key, value_of(&v)?));
    }
    Ok(out)
}

fn context_of(parent: &Bound<'_, PyAny>) -> PyResult<SpanContext> {
    if let Ok(span) = parent.cast::<Span>() {
        return Ok(span.borrow().span.context().clone());
    }
    if let Ok(ctx) = parent.cast::<SpanContextHandle>() {
        return Ok(ctx.get().0.clone());
    }
    Err(PyTypeError::new_err("parent must be a Span or a SpanContext"))
}

impl Span {
    pub(crate) fn span_context(&self) -> SpanContext {
        self.span.context().clone()
    }
}

#[pymethods]
impl Span {
    /// The span's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The span's context (its trace and span ids).
    #[getter]
    fn context(&self) -> SpanContextHandle {
        SpanContextHandle(self.span_context())
    }

    /// The trace id, 32 lower-case hex digits.
    #[getter]
    fn trace_id(&self) -> String {
        self.span.context().trace_id.to_string()
    }

    /// The span id, 16 lower-case hex digits.
    #[getter]
    fn span_id(&self) -> String {
        self.span.context().span_id.to_string()
    }

    /// The parent's span id, or None for a root span.
    #[getter]
    fn parent_span_id(&self) -> Option<String> {
        self.parent.as_ref().map(|p| p.span_id.to_string())
    }

    /// Whether the span records (sampled and not yet ended).
    fn is_recording(&self) -> bool {
        self.span.is_recording()
    }

    /// Sets one attribute.
    fn set_attribute(&mut self, key: String, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.span.set_attribute(key, value_of(value)?);
        Ok(())
    }

    /// Sets every attribute of a dict.
    fn set_attributes(&mut self, attributes: &Bound<'_, PyDict>) -> PyResult<()> {
        for kv in key_values(Some(attributes))? {
            self.span.set_attribute(kv.key, kv.value);
        }
        Ok(())
    }

    /// Adds a timestamped event.
    #[pyo3(signature = (name, attributes = None))]
    fn add_event(&mut self, name: String, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.span.add_event(name, key_values(attributes)?);
        Ok(())
    }

    /// Links this span to another span (or span context).
    #[pyo3(signature = (target, attributes = None))]
    fn add_link(&mut self, target: &Bound<'_, PyAny>, attributes: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let context = context_of(target)?;
        self.span.add_link(context, key_values(attributes)?);
        Ok(())
    }

    /// Sets the status: `"OK"`, `"ERROR"` (with a description) or `"UNSET"`.
    #[pyo3(signature = (status, description = None))]
    fn set_status(&mut self, status: &str, description: Option<String>) -> PyResult<()> {
        let status = match status.to_ascii_uppercase().as_str() {
            "OK" => Status::Ok,
            "ERROR" => Status::Error { message: description.unwrap_or_default().into() },
            "UNSET" => Status::Unset,
            other => return Err(PyValueError::new_err(format!("status is OK, ERROR or UNSET, not {other:?}"))),
        };
        self.span.set_status(status);
        Ok(())
    }

    /// Records an exception: an `exception` event with its type and
    /// message, and status ERROR.
    fn record_exception(&mut self, exception: &Bound<'_, PyAny>) -> PyResult<()> {
        let kind = exception.get_type().qualname()?.to_string();
        let message = exception.str()?.to_string();
        self.span.add_event(
            "exception",
            [KeyValue::new("exception.type", kind.clone()), KeyValue::new("exception.message", message.clone())],
        );
        let description = if message.is_empty() { kind } else { format!("{kind}: {message}") };
        self.span.set_status(Status::Error { message: description.into() });
        Ok(())
    }

    /// Ends the span (later calls do nothing).
    fn end(&mut self) {
        self.span.end();
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let token = current_var(slf.py())?.call_method1("set", (&slf,))?;
        slf.borrow_mut().tokens.push(token.unbind());
        Ok(slf)
    }

    #[pyo3(signature = (_kind = None, exception = None, _traceback = None))]
    fn __exit__(
        slf: Bound<'_, Self>,
        _kind: Option<&Bound<'_, PyAny>>,
        exception: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let py = slf.py();
        let token = slf.borrow_mut().tokens.pop();
        let mut span = slf.borrow_mut();
        if let Some(e) = exception.filter(|e| !e.is_none()) {
            span.record_exception(e)?;
        }
        span.end();
        drop(span);
        if let Some(token) = token {
            // A token made in another context cannot reset this one (a span
            // entered in one task and exited in another): the end above
            // still happened, so only the context is left as it was.
            if let Err(e) = current_var(py)?.call_method1("reset", (token,)) {
                if !e.is_instance_of::<PyValueError>(py) {
                    return Err(e);
                }
            }
        }
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Span({:?}, trace_id={}, span_id={})",
            self.name,
            self.span.context().trace_id,
            self.span.context().span_id
        )
    }
}

/// A tracer: starts spans, and hands ended ones to its exporters.
#[pyclass(frozen, module = "sonde._native")]
pub(crate) struct Tracer {
    provider: TracerProvider,
    tracer: sonde::trace::Tracer,
    /// The recent spans a dashboard shows (kept only once one exists).
    pub(crate) keeper: Arc<Keeper>,
}

#[pymethods]
impl Tracer {
    /// A tracer for `service_name` that exports over OTLP when the
    /// environment configures it (`OTEL_EXPORTER_OTLP_ENDPOINT` or
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_TRACES_EXPORTER` not
    /// `none`, `OTEL_SDK_DISABLED` not `true`); spans are batched (a bounded
    /// queue whose drops are counted) and sent by a background thread.
    #[new]
    #[pyo3(signature = (service_name = None, scope = "sonde"))]
    fn new(service_name: Option<String>, scope: &str) -> PyResult<Self> {
        let export = match crate::otlp::from_env(service_name.as_deref(), "OTEL_TRACES_EXPORTER", "TRACES")? {
            Some(otlp) => {
                let exporter = otlp.span_exporter().map_err(value_error)?;
                Some(sonde::trace::BatchProcessor::new(exporter, sonde::BatchOptions::default()))
            }
            None => None,
        };
        let keeper = Arc::new(Keeper::new(KEPT_SPANS));
        let mut builder = TracerProvider::builder().processor(Spans { export, keeper: keeper.clone() });
        if let Some(name) = service_name.or_else(|| std::env::var("OTEL_SERVICE_NAME").ok()) {
            builder = builder.service_name(name);
        }
        let provider = builder.build();
        let tracer = provider.tracer(scope);
        Ok(Self { provider, tracer, keeper })
    }

    /// Starts a span. Its parent is `parent` (a Span or SpanContext), or
    /// the current span when None; `root=True` starts a new trace.
    #[pyo3(signature = (name, parent = None, attributes = None, kind = None, root = false))]
    fn start_span(
        &self,
        py: Python<'_>,
        name: String,
        parent: Option<&Bound<'_, PyAny>>,
        attributes: Option<&Bound<'_, PyDict>>,
        kind: Option<&str>,
        root: bool,
    ) -> PyResult<Span> {
        let parent = match parent {
            Some(p) if !p.is_none() => Some(context_of(p)?),
            _ if root => None,
            _ => current_span(py)?.map(|current| current.borrow(py).span.context().clone()),
        };
        let mut builder = self.tracer.span(name.clone());
        builder = match &parent {
            Some(p) => builder.parent(p),
            None => builder.root(),
        };
        if let Some(kind) = kind {
            builder = builder.kind(match kind.to_ascii_lowercase().as_str() {
                "internal" => SpanKind::Internal,
                "server" => SpanKind::Server,
                "client" => SpanKind::Client,
                "producer" => SpanKind::Producer,
                "consumer" => SpanKind::Consumer,
                other => return Err(PyValueError::new_err(format!("unknown span kind {other:?}"))),
            });
        }
        for kv in key_values(attributes)? {
            builder = builder.attribute(kv.key, kv.value);
        }
        Ok(Span { span: builder.start(), name, parent, tokens: Vec::new() })
    }

    /// Sends every ended span now.
    fn force_flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.provider.force_flush()).map_err(value_error)
    }

    /// Flushes and stops the exporters; waits at most `timeout` seconds.
    #[pyo3(signature = (timeout = 5.0))]
    fn shutdown(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let timeout = Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        py.detach(|| self.provider.shutdown(timeout)).map_err(value_error)
    }
}
