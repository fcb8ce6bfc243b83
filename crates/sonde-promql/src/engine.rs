//! The engine: runs instant and range queries over a [`Source`].
//!
//! A query is evaluated one instant at a time. Before the first, every
//! selector's samples for the whole query are read from the source once
//! (the windows widened by offsets, ranges, subqueries and the lookback);
//! each instant then finds its samples by binary search.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use crate::parse::{children, parse};
use crate::{Error, Labels, Matcher, Sample, Series, Source, Value};

/// Staleness marker's bits (Prometheus' `StaleNaN`).
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is Prometheus' staleness marker.
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// What the engine allows a query and how it reads samples.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus'
    /// `--query.lookback-delta`, 5 minutes).
    pub lookback: Duration,
    /// Most samples a query may read (Prometheus' `--query.max-samples`,
    /// 50 million).
    pub max_samples: usize,
    /// Longest a query may run (Prometheus' `--query.timeout`, 2 minutes).
    pub timeout: Duration,
    /// Step of a subquery that names none (Prometheus uses its global
    /// evaluation interval, 1 minute by default).
    pub subquery_step: Duration,
    /// Most points per series of a range query (Prometheus: 11,000); a
    /// subquery may take a hundred times as many steps.
    pub max_points: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            subquery_step: Duration::from_secs(60),
            max_points: 11_000,
        }
    }
}

/// Runs PromQL queries with Prometheus' semantics.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    /// An engine with these options.
    pub fn new(options: EngineOptions) -> Self {
        Self { options }
    }

    /// Its options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Evaluates `query` at `t_ms`.
    ///
    /// # Errors
    ///
    /// A parse error, an evaluation error, or a limit reached (see
    /// [`Error`]).
    pub fn instant(&self, source: &dyn Source, query: &str, t_ms: i64) -> Result<Value, Error> {
        self.instant_expr(source, &parse(query)?, t_ms)
    }

    /// Evaluates an already parsed expression at `t_ms` (rules parse once).
    ///
    /// # Errors
    ///
    /// As [`Engine::instant`].
    pub fn instant_expr(&self, source: &dyn Source, expr: &Expr, t_ms: i64) -> Result<Value, Error> {
        let mut ev = Eval::new(source, &self.options, t_ms, t_ms);
        ev.load(expr)?;
        let value = ev.eval(expr, t_ms);
        ev.release();
        Ok(match value? {
            Value::Vector(v) => Value::Vector(v.into_iter().map(|s| Sample { t: t_ms, ..s }).collect()),
            other => other,
        })
    }

    /// Evaluates `query` at every `step_ms` from `start_ms` to `end_ms`:
    /// a matrix, one series per label set, sorted by labels.
    ///
    /// # Errors
    ///
    /// As [`Engine::instant`]; also [`Error::BadData`] for a step that is
    /// not positive, an end before the start, more than
    /// [`EngineOptions::max_points`] steps, or a query that is not a
    /// scalar or an instant vector.
    pub fn range(
        &self,
        source: &dyn Source,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value, Error> {
        if step_ms <= 0 {
            return Err(Error::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end_ms < start_ms {
            return Err(Error::BadData("end timestamp must not be before start time".into()));
        }
        if (end_ms - start_ms) / step_ms >= self.options.max_points as i64 {
            return Err(Error::BadData(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                self.options.max_points
            )));
        }
        let expr = parse(query)?;
        let mut ev = Eval::new(source, &self.options, start_ms, end_ms);
        ev.grid = Some(crate::sweep::Grid { start: start_ms, end: end_ms, step: step_ms });
        ev.load(&expr)?;
        let mut out = Steps::default();
        let mut t = start_ms;
        while t <= end_ms {
            let samples = match ev.eval(&expr, t)? {
                Value::Scalar(v) => vec![Sample { labels: Labels::default(), t, v }],
                Value::Vector(v) => v,
                other => {
                    return Err(Error::BadData(format!(
                        "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                        if other.kind() == "matrix" { "range vector" } else { other.kind() }
                    )))
                }
            };
            out.add(t, samples)?;
            ev.count(out.series.len())?;
            t += step_ms;
        }
        ev.release();
        let mut out = out.series;
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Matrix(out))
    }
}

/// Instant vectors of successive steps gathered into series.
#[derive(Default)]
struct Steps {
    series: Vec<Series>,
    index: HashMap<Labels, usize, foldhash::fast::RandomState>,
}

impl Steps {
    /// Adds the vector evaluated at `t`.
    fn add(&mut self, t: i64, samples: Vec<Sample>) -> Result<(), Error> {
        for s in samples {
            let series = &mut self.series;
            let i = *self.index.entry(s.labels.clone()).or_insert_with(|| {
                series.push(Series { labels: s.labels, samples: Vec::new() });
                series.len() - 1
            });
            if series[i].samples.last().is_some_and(|(last, _)| *last == t) {
                return Err(Error::Execution("vector cannot contain metrics with the same labelset".into()));
            }
            series[i].samples.push((t, s.v));
        }
        Ok(())
    }
}

/// One query's evaluation.
pub(crate) struct Eval<'a> {
    source: &'a dyn Source,
    pub(crate) options: &'a EngineOptions,
    start: i64,
    end: i64,
    deadline: Instant,
    /// Each selector's series, read once for the whole query.
    data: HashMap<*const VectorSelector, Loaded>,
    samples: usize,
    /// A range query's steps (none for an instant query).
    pub(crate) grid: Option<crate::sweep::Grid>,
    /// Range functions of selectors computed for every step at once, by
    /// call (`None`: too large, evaluated step by step).
    pub(crate) sweeps: HashMap<*const promql_parser::parser::Call, Option<crate::sweep::Sweep>>,
}

/// Queries that read this many series free them in the background.
const RELEASE_IN_BACKGROUND: usize = 10_000;

type Garbage = Box<dyn Send>;

/// The thread that frees what large queries read (started when first
/// needed; `None` when it cannot be).
fn releaser() -> Option<&'static std::sync::mpsc::Sender<Garbage>> {
    static RELEASER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Garbage>>> = std::sync::OnceLock::new();
    RELEASER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Garbage>();
            std::thread::Builder::new()
                .name("sonde-promql-release".into())
                .spawn(move || rx.into_iter().for_each(drop))
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// A selector's series for the whole query, with their labels less the
/// metric name (what most functions give), made once rather than per step.
struct Loaded {
    series: Vec<Series>,
    /// The selector names one metric: dropping it leaves series distinct.
    one_name: bool,
    /// The labels less the name, and whether no two are the same: made
    /// when a function first needs them.
    unnamed: std::cell::OnceCell<(Vec<Labels>, bool)>,
}

impl Loaded {
    fn new(series: Vec<Series>, one_name: bool) -> Self {
        Loaded { series, one_name, unnamed: std::cell::OnceCell::new() }
    }

    fn unnamed(&self) -> (&[Labels], bool) {
        let (labels, unique) = self.unnamed.get_or_init(|| {
            let unnamed: Vec<Labels> = self.series.iter().map(|s| s.labels.clone().without_name()).collect();
            let unique = self.one_name || {
                let mut seen = std::collections::HashSet::with_capacity_and_hasher(
                    unnamed.len(),
                    foldhash::fast::RandomState::default(),
                );
                unnamed.iter().all(|l| seen.insert(l))
            };
            (unnamed, unique)
        });
        (labels, *unique)
    }
}

pub(crate) fn millis(d: &Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => millis(d),
        Some(Offset::Neg(d)) => -millis(d),
    }
}

impl<'a> Eval<'a> {
    fn new(source: &'a dyn Source, options: &'a EngineOptions, start: i64, end: i64) -> Self {
        let deadline = Instant::now() + options.timeout;
        Eval {
            source,
            options,
            start,
            end,
            deadline,
            data: HashMap::new(),
            samples: 0,
            grid: None,
            sweeps: HashMap::new(),
        }
    }

    /// The time a selector or subquery reads at, for evaluation at `ts`:
    /// its `@` time (or `ts`) less its offset.
    fn base(&self, at: &Option<AtModifier>, offset: &Option<Offset>, ts: i64) -> i64 {
        let t = match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(time)) => match time.duration_since(UNIX_EPOCH) {
                Ok(d) => millis(&d),
                Err(e) => -millis(&e.duration()),
            },
        };
        t.saturating_sub(offset_ms(offset))
    }

    /// Where a selector's window ends for evaluation at `ts`.
    pub(crate) fn selector_base(&self, vs: &VectorSelector, ts: i64) -> i64 {
        self.base(&vs.at, &vs.offset, ts)
    }

    /// Reads every selector's samples for evaluations from `self.start` to
    /// `self.end`.
    fn load(&mut self, expr: &Expr) -> Result<(), Error> {
        let (start, end) = (self.start, self.end);
        self.load_window(expr, start, end)
    }

    fn load_window(&mut self, expr: &Expr, lo: i64, hi: i64) -> Result<(), Error> {
        let lookback = millis(&self.options.lookback);
        let (vs, range) = match expr {
            Expr::VectorSelector(vs) => (vs, lookback),
            Expr::MatrixSelector(ms) => (&ms.vs, millis(&ms.range)),
            Expr::Subquery(sq) => {
                let (from, to) = self.window(&sq.at, &sq.offset, lo, hi);
                return self.load_window(&sq.expr, from.saturating_sub(millis(&sq.range)), to);
            }
            other => {
                for child in children(other) {
                    self.load_window(child, lo, hi)?;
                }
                return Ok(());
            }
        };
        let (from, to) = self.window(&vs.at, &vs.offset, lo, hi);
        let matchers = selector_matchers(vs);
        let series = self.source.select(&matchers, from.saturating_sub(range), to)?;
        self.count(series.iter().map(|s| s.samples.len()).sum())?;
        let one_name = matchers.iter().any(|m| m.metric_name().is_some());
        self.data.insert(vs as *const _, Loaded::new(series, one_name));
        Ok(())
    }

    fn window(&self, at: &Option<AtModifier>, offset: &Option<Offset>, lo: i64, hi: i64) -> (i64, i64) {
        if at.is_some() {
            let t = self.base(at, offset, lo);
            (t, t)
        } else {
            (self.base(at, offset, lo), self.base(at, offset, hi))
        }
    }

    /// Adds `n` samples to what the query holds.
    pub(crate) fn count(&mut self, n: usize) -> Result<(), Error> {
        self.samples += n;
        if self.samples > self.options.max_samples {
            return Err(Error::TooManySamples("query execution"));
        }
        Ok(())
    }

    /// Lets go of the samples read: a query over many series hands them to
    /// a background thread to free, so that its answer does not wait for
    /// that (as a garbage collector would).
    fn release(&mut self) {
        let data = std::mem::take(&mut self.data);
        let sweeps = std::mem::take(&mut self.sweeps);
        if data.values().map(|l| l.series.len()).sum::<usize>() >= RELEASE_IN_BACKGROUND {
            if let Some(tx) = releaser() {
                // Sent unless the thread is gone; then it drops here.
                let garbage: (Vec<Loaded>, Vec<_>) = (data.into_values().collect(), sweeps.into_values().collect());
                let _ = tx.send(Box::new(garbage));
            }
        }
    }

    /// [`Error::Timeout`] once the query's time is up.
    pub(crate) fn check_deadline(&self) -> Result<(), Error> {
        if Instant::now() > self.deadline {
            return Err(Error::Timeout("query execution"));
        }
        Ok(())
    }

    /// A loaded selector's series, their labels less the metric name, and
    /// whether those are unique.
    pub(crate) fn loaded(&self, vs: &VectorSelector) -> Option<(&[Series], &[Labels], bool)> {
        self.data.get(&(vs as *const _)).map(|l| {
            let (unnamed, unique) = l.unnamed();
            (&l.series[..], unnamed, unique)
        })
    }

    /// Evaluates `expr` at `ts`.
    pub(crate) fn eval(&mut self, expr: &Expr, ts: i64) -> Result<Value, Error> {
        self.check_deadline()?;
        let value = match expr {
            Expr::NumberLiteral(n) => Value::Scalar(n.val),
            Expr::StringLiteral(s) => Value::String(s.val.clone()),
            Expr::Paren(p) => self.eval(&p.expr, ts)?,
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Value::Scalar(v) => Value::Scalar(-v),
                Value::Vector(v) => Value::Vector(
                    v.into_iter().map(|s| Sample { labels: s.labels.without_name(), t: ts, v: -s.v }).collect(),
                ),
                other => return Err(Error::Execution(format!("unary minus on a {}", other.kind()))),
            },
            Expr::VectorSelector(vs) => Value::Vector(self.vector(vs, ts)),
            Expr::MatrixSelector(ms) => {
                let end = self.base(&ms.vs.at, &ms.vs.offset, ts);
                Value::Matrix(self.matrix(&ms.vs, end - millis(&ms.range), end))
            }
            Expr::Subquery(sq) => Value::Matrix(self.subquery(sq, ts)?.0),
            Expr::Call(call) => crate::functions::call(self, call, ts)?,
            Expr::Aggregate(a) => crate::aggregate::eval(self, a, ts)?,
            Expr::Binary(b) => no_duplicates(crate::binary::eval(self, b, ts)?)?,
            Expr::Extension(_) => return Err(Error::BadData("extension expressions are not supported".into())),
        };
        Ok(value)
    }

    /// The instant vector of `vs` at `ts`: each series' latest sample no
    /// older than the lookback, unless that sample is a staleness marker.
    pub(crate) fn vector(&self, vs: &VectorSelector, ts: i64) -> Vec<Sample> {
        let t = self.base(&vs.at, &vs.offset, ts);
        let oldest = t - millis(&self.options.lookback);
        let Some(loaded) = self.data.get(&(vs as *const _)) else { return Vec::new() };
        loaded
            .series
            .iter()
            .filter_map(|s| {
                let i = s.samples.partition_point(|(st, _)| *st <= t);
                let (st, v) = *s.samples.get(i.checked_sub(1)?)?;
                (st >= oldest && !is_stale(v)).then(|| Sample { labels: s.labels.clone(), t: st, v })
            })
            .collect()
    }

    /// The samples of `vs` in `from..=to` (staleness markers left out),
    /// series without any left out.
    pub(crate) fn matrix(&self, vs: &VectorSelector, from: i64, to: i64) -> Vec<Series> {
        let Some(loaded) = self.data.get(&(vs as *const _)) else { return Vec::new() };
        loaded
            .series
            .iter()
            .filter_map(|s| {
                let a = s.samples.partition_point(|(st, _)| *st < from);
                let b = s.samples.partition_point(|(st, _)| *st <= to);
                let samples: Vec<(i64, f64)> = s.samples[a..b].iter().copied().filter(|(_, v)| !is_stale(*v)).collect();
                (!samples.is_empty()).then(|| Series { labels: s.labels.clone(), samples })
            })
            .collect()
    }

    /// Calls `f` with each series of `vs` that has samples in
    /// `from..=to`: the series, its labels less the metric name, and
    /// those samples (staleness markers left out; copied only when there
    /// are some). Returns whether the labels less the name are unique.
    pub(crate) fn each_window(
        &self,
        vs: &VectorSelector,
        from: i64,
        to: i64,
        mut f: impl FnMut(&Series, &Labels, &[(i64, f64)]),
    ) -> bool {
        let Some(loaded) = self.data.get(&(vs as *const _)) else { return true };
        let (unnamed, unique) = loaded.unnamed();
        let mut scratch = Vec::new();
        for (s, unnamed) in loaded.series.iter().zip(unnamed) {
            let a = s.samples.partition_point(|(st, _)| *st < from);
            let b = a + s.samples[a..].partition_point(|(st, _)| *st <= to);
            let window = without_stale(&s.samples[a..b], &mut scratch);
            if !window.is_empty() {
                f(s, unnamed, window);
            }
        }
        unique
    }

    /// A subquery's series at `ts`, with the window's start and end.
    pub(crate) fn subquery(
        &mut self,
        sq: &promql_parser::parser::SubqueryExpr,
        ts: i64,
    ) -> Result<(Vec<Series>, i64, i64), Error> {
        let end = self.base(&sq.at, &sq.offset, ts);
        let range = millis(&sq.range);
        let step = millis(&sq.step.unwrap_or(self.options.subquery_step)).max(1);
        // Prometheus bounds a subquery only by the timeout; Sonde refuses
        // one with more steps than a hundred range queries at the most
        // points each, before evaluating any.
        let most = self.options.max_points as i64 * 100;
        if range / step > most {
            return Err(Error::BadData(format!(
                "subquery [{}ms:{step}ms] takes more than {most} steps; use a larger step",
                range
            )));
        }
        // The first multiple of the step at or after the window's start
        // (Go's truncating division, as Prometheus computes it).
        let from = end - range;
        let mut t = step * (from / step);
        if t < from {
            t += step;
        }
        let mut out = Steps::default();
        while t <= end {
            let samples = match self.eval(&sq.expr, t)? {
                Value::Vector(v) => v,
                Value::Scalar(v) => vec![Sample { labels: Labels::default(), t, v }],
                other => return Err(Error::Execution(format!("subquery of a {}", other.kind()))),
            };
            self.count(samples.len())?;
            out.add(t, samples)?;
            t += step;
        }
        Ok((out.series, end - range, end))
    }
}

/// `window` without staleness markers: itself, or a copy in `scratch`
/// when it has some.
pub(crate) fn without_stale<'a>(window: &'a [(i64, f64)], scratch: &'a mut Vec<(i64, f64)>) -> &'a [(i64, f64)] {
    if !window.iter().any(|(_, v)| is_stale(*v)) {
        return window;
    }
    scratch.clear();
    scratch.extend(window.iter().copied().filter(|(_, v)| !is_stale(*v)));
    scratch
}

/// Prometheus refuses a result with two samples of one label set.
pub(crate) fn no_duplicates(value: Value) -> Result<Value, Error> {
    if let Value::Vector(v) = &value {
        if v.len() > 1 {
            let mut seen =
                std::collections::HashSet::with_capacity_and_hasher(v.len(), foldhash::fast::RandomState::default());
            if !v.iter().all(|s| seen.insert(&s.labels)) {
                return Err(Error::Execution("vector cannot contain metrics with the same labelset".into()));
            }
        }
    }
    Ok(value)
}

/// A selector's matchers, its metric name as a `__name__` matcher.
pub(crate) fn selector_matchers(vs: &VectorSelector) -> Vec<Matcher> {
    let mut out: Vec<Matcher> = vs.matchers.matchers.iter().map(Matcher::from_parser).collect();
    if let Some(name) = &vs.name {
        if !out.iter().any(|m| m.name == crate::labels::METRIC_NAME) {
            out.push(Matcher::equal(crate::labels::METRIC_NAME, name));
        }
    }
    out
}

/// Milliseconds since the epoch of a wall-clock time.
pub fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => millis(&d),
        Err(e) => -millis(&e.duration()),
    }
}
