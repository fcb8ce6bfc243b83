//! The tracer provider (service, sampler, limits, processors) and tracers.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::sync::ArrayQueue;

use super::clock::now_unix_nanos;
use super::current::{self, with_current};
use super::processor::{Recycler, SpanProcessor};
use super::sampler::Sampler;
use super::span::{Limits, Span, SpanData, SpanKind, Status};
use super::value::KeyValue;
use super::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::Result;

/// The service that produces spans: `service.name` and other attributes.
#[derive(Debug, PartialEq)]
pub struct Resource {
    /// Attributes, `service.name` first.
    pub attributes: Vec<KeyValue>,
}

impl Resource {
    /// The `service.name` attribute.
    pub fn service_name(&self) -> &str {
        match self.attributes.iter().find(|kv| kv.key == "service.name").map(|kv| &kv.value) {
            Some(super::Value::Str(s)) => s,
            _ => "unknown_service",
        }
    }
}

/// The instrumentation scope: which library or module made a span.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The tracer's name.
    pub name: String,
}

/// Scopes are few and live for the program: intern them so spans can point
/// at them without reference counting.
pub(crate) fn intern_scope(name: &str) -> &'static Scope {
    static SCOPES: OnceLock<Mutex<HashMap<String, &'static Scope>>> = OnceLock::new();
    let mut map = SCOPES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    map.entry(name.to_owned()).or_insert_with(|| Box::leak(Box::new(Scope { name: name.to_owned() })))
}

/// Finished-span storage kept for reuse, so steady-state tracing allocates
/// nothing (exporters borrow spans; processors hand them back here).
const POOL_SIZE: usize = 4096;

pub(crate) struct Pipeline {
    me: std::sync::Weak<Pipeline>,
    pub(crate) resource: &'static Resource,
    pub(crate) sampler: Sampler,
    pub(crate) limits: Limits,
    processors: Vec<Box<dyn SpanProcessor>>,
    pool: ArrayQueue<Box<SpanData>>,
}

impl Pipeline {
    pub(crate) fn on_end(&self, span: Box<SpanData>) {
        match self.processors.split_last() {
            None => self.recycle(span),
            Some((last, rest)) => {
                let recycler = Recycler(self);
                for p in rest {
                    p.on_end(Box::new((*span).clone()), &recycler);
                }
                last.on_end(span, &recycler);
            }
        }
    }

    /// Returns a finished span's storage for reuse.
    pub(crate) fn recycle(&self, mut span: Box<SpanData>) {
        span.clear();
        let _ = self.pool.push(span);
    }

    /// A weak handle to this pipeline (for processors' worker threads).
    pub(crate) fn weak(&self) -> std::sync::Weak<Pipeline> {
        self.me.clone()
    }

    fn take(&self) -> Option<Box<SpanData>> {
        self.pool.pop()
    }
}

/// Options for a [`TracerProvider`].
pub struct TracerProviderBuilder {
    attributes: Vec<KeyValue>,
    sampler: Sampler,
    limits: Limits,
    processors: Vec<Box<dyn SpanProcessor>>,
}

impl TracerProviderBuilder {
    /// Sets `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.attributes.retain(|kv| kv.key != "service.name");
        self.attributes.insert(0, KeyValue::new("service.name", name.into()));
        self
    }

    /// Adds a resource attribute.
    pub fn resource_attribute(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<super::Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }

    /// Sets the sampler (default: parent-based, always-on roots).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self
    }

    /// Sets per-span limits (default: 128 attributes, events, links).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Adds a processor; finished spans go to each, in order.
    pub fn processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.processors.push(Box::new(processor));
        self
    }

    /// Builds the provider.
    pub fn build(self) -> TracerProvider {
        let resource: &'static Resource = Box::leak(Box::new(Resource { attributes: self.attributes }));
        let (sampler, limits, processors) = (self.sampler, self.limits, self.processors);
        TracerProvider(Arc::new_cyclic(|me| Pipeline {
            me: me.clone(),
            resource,
            sampler,
            limits,
            processors,
            pool: ArrayQueue::new(POOL_SIZE),
        }))
    }
}

/// Holds the service identity, sampler, limits and processors; hands out
/// [`Tracer`]s. Cheap to clone.
///
/// ```
/// use sonde::trace::{InMemoryExporter, SimpleProcessor, TracerProvider};
///
/// let spans = InMemoryExporter::new();
/// let provider = TracerProvider::builder()
///     .service_name("checkout")
///     .processor(SimpleProcessor::new(spans.clone()))
///     .build();
/// let tracer = provider.tracer("checkout::cart");
/// tracer.in_span("add_item", |span| {
///     span.set_attribute("item.count", 2);
///     let _child = tracer.start("price_lookup"); // a child of add_item
/// });
/// let finished = spans.spans();
/// assert_eq!(finished.len(), 2);
/// assert_eq!(finished[0].name, "price_lookup");
/// assert_eq!(finished[0].parent_span_id, finished[1].context.span_id);
/// ```
#[derive(Clone)]
pub struct TracerProvider(Arc<Pipeline>);

impl std::fmt::Debug for TracerProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracerProvider").field("service", &self.0.resource.service_name()).finish()
    }
}

impl TracerProvider {
    /// Options for a provider.
    pub fn builder() -> TracerProviderBuilder {
        TracerProviderBuilder {
            attributes: vec![KeyValue::new("service.name", "unknown_service")],
            sampler: Sampler::default(),
            limits: Limits::default(),
            processors: Vec::new(),
        }
    }

    /// A tracer for the named instrumentation scope.
    pub fn tracer(&self, scope: &str) -> Tracer {
        Tracer { pipeline: self.0.clone(), scope: intern_scope(scope) }
    }

    pub(crate) fn tracer_for(&self, scope: &'static Scope) -> Tracer {
        Tracer { pipeline: self.0.clone(), scope }
    }

    /// The resource spans are reported with.
    pub fn resource(&self) -> &'static Resource {
        self.0.resource
    }

    /// Exports everything finished so far.
    ///
    /// # Errors
    ///
    /// The first processor's error when spans queued before the call could not be exported.
    pub fn force_flush(&self) -> Result<()> {
        self.0.processors.iter().try_for_each(|p| p.force_flush())
    }

    /// Flushes and stops every processor, waiting at most `timeout` each.
    ///
    /// # Errors
    ///
    /// The first processor's error when queued spans were not exported within `timeout`.
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        let mut first_error = Ok(());
        for p in &self.0.processors {
            if let Err(e) = p.shutdown(timeout) {
                first_error = first_error.and(Err(e));
            }
        }
        first_error
    }
}

/// Starts spans for one instrumentation scope. Cheap to clone.
#[derive(Clone)]
pub struct Tracer {
    pipeline: Arc<Pipeline>,
    scope: &'static Scope,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer").field("scope", &self.scope.name).finish()
    }
}

/// Where a new span's parent comes from.
#[derive(Clone, Debug, Default)]
enum Parent {
    #[default]
    Current,
    Explicit(SpanContext),
    Root,
}

/// Options for one span; see [`Tracer::span`].
#[must_use = "nothing starts until `start` is called"]
pub struct SpanBuilder<'t> {
    tracer: &'t Tracer,
    name: Cow<'static, str>,
    kind: SpanKind,
    parent: Parent,
    attributes: Vec<KeyValue>,
    links: Vec<(SpanContext, Vec<KeyValue>)>,
    start_unix_nanos: Option<u64>,
}

impl SpanBuilder<'_> {
    /// Sets the span kind (default `Internal`).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Makes the span a child of `parent` instead of the current span.
    /// An invalid context starts a new trace.
    pub fn parent(mut self, parent: &SpanContext) -> Self {
        self.parent = if parent.is_valid() { Parent::Explicit(parent.clone()) } else { Parent::Root };
        self
    }

    /// Starts a new trace whatever the current span.
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    /// Adds an attribute at start (visible to the sampler's caller).
    pub fn attribute(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<super::Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }

    /// Links the span to another span's context.
    pub fn link(mut self, context: SpanContext, attributes: Vec<KeyValue>) -> Self {
        self.links.push((context, attributes));
        self
    }

    /// Sets an explicit start time (Unix nanoseconds).
    pub fn start_time(mut self, unix_nanos: u64) -> Self {
        self.start_unix_nanos = Some(unix_nanos);
        self
    }

    /// Starts the span.
    pub fn start(self) -> Span {
        let SpanBuilder { tracer, name, kind, parent, attributes, links, start_unix_nanos } = self;
        let mut span = match parent {
            Parent::Current => with_current(|p| tracer.begin(name, kind, p)),
            Parent::Explicit(ctx) => tracer.begin(name, kind, Some(&ctx)),
            Parent::Root => tracer.begin(name, kind, None),
        };
        if let (Some(t), Some(d)) = (start_unix_nanos, span.data.as_deref_mut()) {
            d.start_unix_nanos = t;
        }
        for kv in attributes {
            span.set_attribute(kv.key, kv.value);
        }
        for (ctx, attrs) in links {
            span.add_link(ctx, attrs);
        }
        span
    }
}

impl Tracer {
    /// Starts a span named `name`, a child of the current span (or a new
    /// trace when there is none).
    #[inline]
    pub fn start(&self, name: impl Into<Cow<'static, str>>) -> Span {
        let name = name.into();
        with_current(|parent| self.begin(name, SpanKind::Internal, parent))
    }

    /// Options for a span: kind, explicit parent, attributes, links.
    pub fn span(&self, name: impl Into<Cow<'static, str>>) -> SpanBuilder<'_> {
        SpanBuilder {
            tracer: self,
            name: name.into(),
            kind: SpanKind::Internal,
            parent: Parent::Current,
            attributes: Vec::new(),
            links: Vec::new(),
            start_unix_nanos: None,
        }
    }

    /// Runs `f` inside a new current span, which ends when `f` returns.
    pub fn in_span<R>(&self, name: impl Into<Cow<'static, str>>, f: impl FnOnce(&mut Span) -> R) -> R {
        let mut span = self.start(name);
        let ctx_carrier = Span { context: span.context.clone(), data: None, pipeline: None };
        let _guard = current::enter(&ctx_carrier);
        f(&mut span)
    }

    #[inline]
    fn begin(&self, name: Cow<'static, str>, kind: SpanKind, parent: Option<&SpanContext>) -> Span {
        let (trace_id, flags, state, parent_span_id, parent_remote) = match parent {
            // Same trace: keep the parent's defined flags (the Level-2
            // random flag stays as received for this trace id; bits no
            // version defines are not passed on) and vendor state.
            Some(p) => (p.trace_id, p.flags.defined(), p.state.clone(), p.span_id, p.remote),
            // New root: our ids are random, so say so.
            None => (TraceId::random(), TraceFlags::RANDOM, TraceState::default(), SpanId::INVALID, false),
        };
        let sampled = self.pipeline.sampler.should_sample(parent, trace_id);
        if !sampled {
            // Built in place: assembling the context first and moving it
            // copied the trace id through a 16-byte load of two 8-byte
            // stores, a store-forwarding stall that was half of this path.
            return Span {
                context: SpanContext {
                    trace_id,
                    span_id: SpanId::random(),
                    flags: flags.with(TraceFlags::SAMPLED, false),
                    state,
                    remote: false,
                },
                data: None,
                pipeline: None,
            };
        }
        let context = SpanContext {
            trace_id,
            span_id: SpanId::random(),
            flags: flags.with(TraceFlags::SAMPLED, true),
            state,
            remote: false,
        };
        let p = &self.pipeline;
        let start = now_unix_nanos();
        let data = match p.take() {
            Some(mut d) => {
                d.context = context.clone();
                d.parent_span_id = parent_span_id;
                d.parent_remote = parent_remote;
                d.name = name;
                d.kind = kind;
                d.start_unix_nanos = start;
                d.scope = self.scope;
                d.resource = p.resource;
                d
            }
            None => Box::new(SpanData {
                context: context.clone(),
                parent_span_id,
                parent_remote,
                name,
                kind,
                start_unix_nanos: start,
                end_unix_nanos: 0,
                attributes: Vec::new(),
                events: Vec::new(),
                links: Vec::new(),
                status: Status::Unset,
                dropped_attributes: 0,
                dropped_events: 0,
                dropped_links: 0,
                scope: self.scope,
                resource: p.resource,
            }),
        };
        Span { context, data: Some(data), pipeline: Some(self.pipeline.clone()) }
    }
}
