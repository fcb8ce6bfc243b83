//! The current span: a per-thread stack of contexts, and futures that carry
//! their span across `.await` points and worker threads.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::span::Span;
use super::SpanContext;

thread_local! {
    static STACK: RefCell<Vec<SpanContext>> = const { RefCell::new(Vec::new()) };
    /// Entries in `STACK`. Destructor-free, so it is the cheapest TLS read:
    /// when it is 0, starting a span never touches `STACK`.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

fn set_depth(n: usize) {
    let _ = DEPTH.try_with(|d| d.set(n));
}

/// The innermost entered span's context on this thread.
pub fn current_span_context() -> Option<SpanContext> {
    STACK.try_with(|s| s.borrow().last().cloned()).ok().flatten()
}

/// Calls `f` with the current context without cloning it.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&SpanContext>) -> R) -> R {
    if DEPTH.try_with(Cell::get).unwrap_or(0) == 0 {
        return f(None);
    }
    let mut f = Some(f);
    let r = STACK.try_with(|s| match s.try_borrow() {
        Ok(stack) => f.take().map(|f| f(stack.last())),
        Err(_) => None,
    });
    match (r, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(None),
        _ => unreachable!("the closure ran or is still here"),
    }
}

/// Keeps a span current on this thread; restores the previous one on drop.
#[must_use = "the span is current only while the guard lives"]
pub struct Entered<'a> {
    depth: usize,
    _span: std::marker::PhantomData<&'a Span>,
    _not_send: std::marker::PhantomData<*const ()>,
}

pub(crate) fn enter(span: &Span) -> Entered<'_> {
    let depth = STACK
        .try_with(|s| {
            let mut s = s.borrow_mut();
            s.push(span.context.clone());
            set_depth(s.len());
            s.len()
        })
        .unwrap_or(0);
    Entered { depth, _span: std::marker::PhantomData, _not_send: std::marker::PhantomData }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if self.depth == 0 {
            return;
        }
        let _ = STACK.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() == self.depth {
                s.pop();
            } else if self.depth <= s.len() {
                // Guards dropped out of order: remove exactly this entry.
                s.remove(self.depth - 1);
            }
            set_depth(s.len());
        });
    }
}

/// Makes `ctx` current on this thread until [`pop_context`] with the
/// returned depth; for integrations (such as a `tracing` layer) whose enter
/// and exit are separate calls. Prefer [`Span::enter`] elsewhere.
pub fn push_context(ctx: SpanContext) -> usize {
    STACK
        .try_with(|s| {
            let mut s = s.borrow_mut();
            s.push(ctx);
            set_depth(s.len());
            s.len()
        })
        .unwrap_or(0)
}

/// Undoes [`push_context`]: removes the entry pushed at `depth`.
pub fn pop_context(depth: usize) {
    if depth == 0 {
        return;
    }
    let _ = STACK.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() == depth {
            s.pop();
        } else if depth <= s.len() {
            s.remove(depth - 1);
        }
        set_depth(s.len());
    });
}

/// Attaches a span to a future: the span is current on whatever thread
/// polls the future, during each poll, and ends when the future completes
/// or is dropped.
pub trait Instrument: Future + Sized {
    /// Wraps `self` so that `span` is current while it runs.
    fn instrument(self, span: Span) -> Instrumented<Self> {
        Instrumented { inner: self, span: Some(span) }
    }

    /// Wraps `self` with the span current at this call (useful with
    /// `tokio::spawn`, which would otherwise lose it).
    fn in_current_span(self) -> InCurrentSpan<Self> {
        InCurrentSpan { inner: self, context: current_span_context() }
    }

    /// Wraps `self` so that `context` is current while it runs (the span
    /// itself stays with the caller, who ends it).
    fn in_context(self, context: SpanContext) -> InCurrentSpan<Self> {
        InCurrentSpan { inner: self, context: Some(context) }
    }
}

impl<F: Future> Instrument for F {}

pin_project_lite::pin_project! {
    /// A future with its span; see [`Instrument::instrument`].
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = match this.span.as_ref() {
            Some(span) => {
                let _guard = span.enter();
                this.inner.poll(cx)
            }
            None => this.inner.poll(cx),
        };
        if out.is_ready() {
            // End now, not when the wrapper happens to be dropped.
            this.span.take();
        }
        out
    }
}

pin_project_lite::pin_project! {
    /// A future that re-enters the context it was created in; see
    /// [`Instrument::in_current_span`].
    pub struct InCurrentSpan<F> {
        #[pin]
        inner: F,
        context: Option<SpanContext>,
    }
}

impl<F: Future> Future for InCurrentSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.context.clone() {
            Some(ctx) => {
                let carrier = Span { context: ctx, data: None, pipeline: None };
                let _guard = enter(&carrier);
                this.inner.poll(cx)
            }
            None => this.inner.poll(cx),
        }
    }
}
