//! Aggregations (`sum`, `topk`, `quantile`, ... with `by` or `without`),
//! as Prometheus 2.42 computes them.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use promql_parser::label::Labels as Names;
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_MAX, T_MIN, T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use crate::engine::Eval;
use crate::float::go_int;
use crate::functions::{quantile, valid_label_name};
use crate::labels::METRIC_NAME;
use crate::{Error, Labels, Sample, Value};

struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    count: usize,
    /// `topk`/`bottomk`: a heap in Go's `container/heap` order;
    /// `quantile`: the values.
    heap: Vec<Sample>,
}

pub(crate) fn eval(ev: &mut Eval<'_>, a: &AggregateExpr, ts: i64) -> Result<Value, Error> {
    let op = a.op.id();
    let mut k = 0i64;
    let mut q = 0.0;
    let mut value_label = String::new();
    match (&a.param, op) {
        (Some(p), T_TOPK | T_BOTTOMK) => {
            let f = scalar(ev.eval(p, ts)?)?;
            if !(f > -9.223_372_036_854_776e18 && f < 9.223_372_036_854_776e18) {
                return Err(Error::Execution(format!("Scalar value {} overflows int64", crate::format_value(f))));
            }
            k = go_int(f);
            if k < 1 {
                return Ok(Value::Vector(Vec::new()));
            }
        }
        (Some(p), T_QUANTILE) => q = scalar(ev.eval(p, ts)?)?,
        (Some(p), T_COUNT_VALUES) => {
            value_label = match &**p {
                Expr::StringLiteral(s) => s.val.clone(),
                Expr::Paren(inner) => match &*inner.expr {
                    Expr::StringLiteral(s) => s.val.clone(),
                    _ => return Err(Error::Execution("count_values needs a string label name".into())),
                },
                _ => return Err(Error::Execution("count_values needs a string label name".into())),
            };
            if !valid_label_name(&value_label) {
                return Err(Error::Execution(format!("invalid label name {value_label:?}")));
            }
        }
        (Some(_), _) => return Err(Error::BadData(format!("{} takes no parameter", a.op))),
        (None, _) => {}
    }
    let input = match ev.eval(&a.expr, ts)? {
        Value::Vector(v) => v,
        other => return Err(Error::Execution(format!("aggregation over a {}", other.kind()))),
    };
    let (without, mut grouping): (bool, Vec<String>) = match &a.modifier {
        None => (false, Vec::new()),
        Some(LabelModifier::Include(Names { labels })) => (false, labels.clone()),
        Some(LabelModifier::Exclude(Names { labels })) => (true, labels.clone()),
    };
    if op == T_COUNT_VALUES && !without {
        grouping.push(value_label.clone());
    }
    // A sample's group is found by the hash of its grouping labels, and
    // those compared with the group's: no key is built per sample.
    let hasher = foldhash::fast::FixedState::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    let input_len = input.len() as i64;
    for mut s in input {
        if op == T_COUNT_VALUES {
            s.labels.set(&value_label, crate::format_value(s.v));
        }
        let hash = {
            let mut h = hasher.build_hasher();
            for pair in selected(&s.labels, without, &grouping) {
                pair.hash(&mut h);
            }
            h.finish()
        };
        let same = index.entry(hash).or_default();
        let found = same.iter().copied().find(|&i| selected(&s.labels, without, &grouping).eq(groups[i].labels.iter()));
        let Some(i) = found else {
            same.push(groups.len());
            let labels = Labels::new(selected(&s.labels, without, &grouping));
            let mut g = Group { labels, value: s.v, mean: s.v, count: 1, heap: Vec::new() };
            match op {
                T_STDVAR | T_STDDEV => g.value = 0.0,
                T_GROUP => g.value = 1.0,
                T_TOPK | T_BOTTOMK | T_QUANTILE => {
                    let cap = if k > input_len { input_len } else { k.max(1) };
                    g.heap = Vec::with_capacity(cap as usize);
                    g.heap.push(Sample { labels: s.labels, t: ts, v: s.v });
                }
                _ => {}
            }
            groups.push(g);
            continue;
        };
        let g = &mut groups[i];
        match op {
            T_SUM => g.value += s.v,
            T_AVG => {
                g.count += 1;
                if g.mean.is_infinite() {
                    if s.v.is_infinite() && (g.mean > 0.0) == (s.v > 0.0) {
                        continue;
                    }
                    if !s.v.is_infinite() && !s.v.is_nan() {
                        continue;
                    }
                }
                let n = g.count as f64;
                g.mean += s.v / n - g.mean / n;
            }
            T_GROUP => {}
            T_MAX => {
                if g.value < s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            T_MIN => {
                if g.value > s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            T_COUNT | T_COUNT_VALUES => g.count += 1,
            T_STDVAR | T_STDDEV => {
                g.count += 1;
                let delta = s.v - g.mean;
                g.mean += delta / g.count as f64;
                g.value += delta * (s.v - g.mean);
            }
            T_TOPK | T_BOTTOMK => {
                let less: fn(&Sample, &Sample) -> bool = if op == T_TOPK { by_value } else { by_reverse_value };
                let replace = if op == T_TOPK {
                    g.heap[0].v < s.v || g.heap[0].v.is_nan()
                } else {
                    g.heap[0].v > s.v || g.heap[0].v.is_nan()
                };
                if (g.heap.len() as i64) < k || replace {
                    let sample = Sample { labels: s.labels, t: ts, v: s.v };
                    if g.heap.len() as i64 == k {
                        if k == 1 {
                            g.heap[0] = sample;
                            continue;
                        }
                        heap_pop(&mut g.heap, less);
                    }
                    heap_push(&mut g.heap, sample, less);
                }
            }
            T_QUANTILE => g.heap.push(s),
            _ => return Err(Error::BadData(format!("aggregation {} is not supported", a.op))),
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        let v = match op {
            T_AVG => g.mean,
            T_COUNT | T_COUNT_VALUES => g.count as f64,
            T_STDVAR => g.value / g.count as f64,
            T_STDDEV => (g.value / g.count as f64).sqrt(),
            T_TOPK | T_BOTTOMK => {
                // Largest first for topk, smallest first for bottomk (NaN last).
                let less: fn(&Sample, &Sample) -> bool = if op == T_TOPK { by_value } else { by_reverse_value };
                g.heap.sort_by(|a, b| {
                    if less(b, a) {
                        std::cmp::Ordering::Less
                    } else if less(a, b) {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                });
                out.extend(g.heap.into_iter().map(|s| Sample { t: ts, ..s }));
                continue;
            }
            T_QUANTILE => quantile(q, g.heap.iter().map(|s| s.v).collect()),
            _ => g.value,
        };
        out.push(Sample { labels: g.labels, t: ts, v });
    }
    Ok(Value::Vector(out))
}

fn scalar(v: Value) -> Result<f64, Error> {
    match v {
        Value::Scalar(f) => Ok(f),
        other => Err(Error::Execution(format!("expected a scalar parameter, got a {}", other.kind()))),
    }
}

/// Prometheus' `vectorByValueHeap` order: NaN below everything.
fn by_value(a: &Sample, b: &Sample) -> bool {
    a.v.is_nan() || a.v < b.v
}

/// Prometheus' `vectorByReverseValueHeap` order: NaN below everything.
fn by_reverse_value(a: &Sample, b: &Sample) -> bool {
    a.v.is_nan() || a.v > b.v
}

/// Go's `heap.Push`.
fn heap_push(h: &mut Vec<Sample>, s: Sample, less: fn(&Sample, &Sample) -> bool) {
    h.push(s);
    let mut j = h.len() - 1;
    while j > 0 {
        let i = (j - 1) / 2;
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

/// Go's `heap.Pop` (the removed element is dropped).
fn heap_pop(h: &mut Vec<Sample>, less: fn(&Sample, &Sample) -> bool) {
    let n = h.len() - 1;
    h.swap(0, n);
    let mut i = 0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        if j1 + 1 < n && less(&h[j1 + 1], &h[j1]) {
            j = j1 + 1;
        }
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    h.pop();
}

/// The labels of `labels` that decide its group.
fn selected<'a>(labels: &'a Labels, without: bool, grouping: &'a [String]) -> impl Iterator<Item = (&'a str, &'a str)> {
    labels.iter().filter(move |(n, _)| {
        if without {
            *n != METRIC_NAME && !grouping.iter().any(|g| g == n)
        } else {
            grouping.iter().any(|g| g == n)
        }
    })
}
