//! PromQL's functions, as Prometheus 2.42 computes them.

use promql_parser::parser::{Call, Expr, MatrixSelector};
use regex::Regex;

use crate::engine::{millis, Eval};
use crate::float::{go_int, go_max, go_min, kahan_inc};
use crate::sweep::Sweep;
use crate::{Error, Labels, Sample, Series, Value};

/// A range vector's window: its start and end (milliseconds).
#[derive(Clone, Copy)]
struct Bounds {
    start: i64,
    end: i64,
}

/// A range vector argument: its series and its window.
struct Window {
    series: Vec<Series>,
    bounds: Bounds,
}

/// The functions of one range vector that [`range_function`] computes.
const RANGE_FUNCTIONS: [&str; 17] = [
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "deriv",
    "resets",
    "changes",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
];

/// Evaluates a function call at `ts`: a vector with unique label sets.
pub(crate) fn call(ev: &mut Eval<'_>, call: &Call, ts: i64) -> Result<Value, Error> {
    let name = call.func.name;
    // A range function of a selector (`rate(x[5m])`, most queries) reads
    // the selector's samples in place, step after step.
    if RANGE_FUNCTIONS.contains(&name) {
        if let Some(ms) = call.args.args.first().and_then(|a| matrix_selector(a)) {
            if let Some(out) = swept(ev, call, ms, ts)? {
                return Ok(out);
            }
            let end = ev.selector_base(&ms.vs, ts);
            let bounds = Bounds { start: end - millis(&ms.range), end };
            let mut out = Vec::new();
            let unique = ev.each_window(&ms.vs, bounds.start, bounds.end, |s, unnamed, samples| {
                if let Some(v) = range_function(name, bounds, samples) {
                    out.push(Sample { labels: result_labels(name, &s.labels, unnamed), t: ts, v });
                }
            });
            return checked_vector(out, unique);
        }
    }
    crate::engine::no_duplicates(call_general(ev, call, ts)?)
}

/// A range function of a selector at a step of a range query, from its
/// values at every step computed at once (see [`crate::sweep`]); `None`
/// off the query's steps or when the sweep would be too large.
fn swept(ev: &mut Eval<'_>, call: &Call, ms: &MatrixSelector, ts: i64) -> Result<Option<Value>, Error> {
    let Some(grid) = ev.grid else { return Ok(None) };
    let Some(k) = grid.index(ts) else { return Ok(None) };
    let key = call as *const Call;
    if !ev.sweeps.contains_key(&key) {
        let name = call.func.name;
        let sweep =
            Sweep::compute(ev, ms, grid, |start, end, samples| range_function(name, Bounds { start, end }, samples))?;
        ev.sweeps.insert(key, sweep);
    }
    let (Some(Some(sweep)), Some((series, unnamed, unique))) = (ev.sweeps.get(&key), ev.loaded(&ms.vs)) else {
        return Ok(None);
    };
    let row = k * sweep.series..(k + 1) * sweep.series;
    let out: Vec<Sample> = sweep.values[row.clone()]
        .iter()
        .zip(&sweep.present[row])
        .enumerate()
        .filter(|(_, (_, present))| **present)
        .map(|(i, (&v, _))| Sample { labels: result_labels(call.func.name, &series[i].labels, &unnamed[i]), t: ts, v })
        .collect();
    checked_vector(out, unique).map(Some)
}

/// The labels a range function's result has: the series' own for
/// `last_over_time`, else without the metric name (`unnamed`).
fn result_labels(name: &str, labels: &Labels, unnamed: &Labels) -> Labels {
    if name == "last_over_time" {
        labels.clone()
    } else {
        unnamed.clone()
    }
}

/// A vector of a range function over a selector's series: checked for
/// repeated label sets unless the series' labels less the name are known
/// to be `unique`.
fn checked_vector(out: Vec<Sample>, unique: bool) -> Result<Value, Error> {
    let out = Value::Vector(out);
    if unique {
        Ok(out)
    } else {
        crate::engine::no_duplicates(out)
    }
}

/// The matrix selector `arg` is, inside any parentheses.
fn matrix_selector(arg: &Expr) -> Option<&MatrixSelector> {
    match arg {
        Expr::Paren(p) => matrix_selector(&p.expr),
        Expr::MatrixSelector(ms) => Some(ms),
        _ => None,
    }
}

fn call_general(ev: &mut Eval<'_>, call: &Call, ts: i64) -> Result<Value, Error> {
    let name = call.func.name;
    let args: Vec<&Expr> = call.args.args.iter().map(|a| &**a).collect();
    match name {
        n if RANGE_FUNCTIONS.contains(&n) => {
            let w = window(ev, args[0], ts)?;
            Ok(over_time(name, w, ts, range_function))
        }
        "quantile_over_time" => {
            let q = scalar(ev, args[0], ts)?;
            let w = window(ev, args[1], ts)?;
            Ok(over_time(name, w, ts, |_, _, samples| Some(quantile(q, samples.iter().map(|s| s.1).collect()))))
        }
        "predict_linear" => {
            let w = window(ev, args[0], ts)?;
            let duration = scalar(ev, args[1], ts)?;
            Ok(over_time(name, w, ts, |_, _, samples| {
                (samples.len() >= 2).then(|| {
                    let (slope, intercept) = linear_regression(samples, ts);
                    slope * duration + intercept
                })
            }))
        }
        "holt_winters" => {
            let w = window(ev, args[0], ts)?;
            let sf = scalar(ev, args[1], ts)?;
            let tf = scalar(ev, args[2], ts)?;
            if sf <= 0.0 || sf >= 1.0 {
                return Err(Error::Execution(format!("invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}")));
            }
            if tf <= 0.0 || tf >= 1.0 {
                return Err(Error::Execution(format!("invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}")));
            }
            Ok(over_time(name, w, ts, |_, _, samples| holt_winters(samples, sf, tf)))
        }
        "absent_over_time" => {
            let w = window(ev, args[0], ts)?;
            Ok(Value::Vector(if w.series.is_empty() {
                vec![Sample { labels: absent_labels(args[0]), t: ts, v: 1.0 }]
            } else {
                Vec::new()
            }))
        }
        "absent" => {
            let v = vector(ev, args[0], ts)?;
            Ok(Value::Vector(if v.is_empty() {
                vec![Sample { labels: absent_labels(args[0]), t: ts, v: 1.0 }]
            } else {
                Vec::new()
            }))
        }
        "abs" | "ceil" | "floor" | "exp" | "sqrt" | "ln" | "log2" | "log10" | "sin" | "cos" | "tan" | "asin"
        | "acos" | "atan" | "sinh" | "cosh" | "tanh" | "asinh" | "acosh" | "atanh" | "rad" | "deg" | "sgn" => {
            let f = simple(name);
            Ok(map_values(vector(ev, args[0], ts)?, ts, f))
        }
        "round" => {
            let to_nearest = match args.get(1) {
                Some(a) => scalar(ev, a, ts)?,
                None => 1.0,
            };
            let inverse = 1.0 / to_nearest;
            Ok(map_values(vector(ev, args[0], ts)?, ts, |v| (v * inverse + 0.5).floor() / inverse))
        }
        "clamp" => {
            let v = vector(ev, args[0], ts)?;
            let (min, max) = (scalar(ev, args[1], ts)?, scalar(ev, args[2], ts)?);
            if max < min {
                return Ok(Value::Vector(Vec::new()));
            }
            Ok(map_values(v, ts, |x| go_max(min, go_min(max, x))))
        }
        "clamp_max" => {
            let v = vector(ev, args[0], ts)?;
            let max = scalar(ev, args[1], ts)?;
            Ok(map_values(v, ts, |x| go_min(max, x)))
        }
        "clamp_min" => {
            let v = vector(ev, args[0], ts)?;
            let min = scalar(ev, args[1], ts)?;
            Ok(map_values(v, ts, |x| go_max(min, x)))
        }
        "timestamp" => {
            // A selector's own sample times; any other expression's
            // samples are at the evaluation time.
            let direct = matches!(args[0], Expr::VectorSelector(_));
            let v = vector(ev, args[0], ts)?;
            Ok(Value::Vector(
                v.into_iter()
                    .map(|s| Sample {
                        labels: s.labels.without_name(),
                        t: ts,
                        v: if direct { s.t } else { ts } as f64 / 1000.0,
                    })
                    .collect(),
            ))
        }
        "year" | "month" | "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute" => {
            let part = date_part(name);
            match args.first() {
                None => {
                    Ok(Value::Vector(vec![Sample { labels: Labels::default(), t: ts, v: part(ts.div_euclid(1000)) }]))
                }
                Some(a) => Ok(map_values(vector(ev, a, ts)?, ts, |v| part(go_int(v)))),
            }
        }
        "time" => Ok(Value::Scalar(ts as f64 / 1000.0)),
        "pi" => Ok(Value::Scalar(std::f64::consts::PI)),
        "vector" => Ok(Value::Vector(vec![Sample { labels: Labels::default(), t: ts, v: scalar(ev, args[0], ts)? }])),
        "scalar" => {
            let v = vector(ev, args[0], ts)?;
            Ok(Value::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }))
        }
        "sort" | "sort_desc" => {
            let mut v = vector(ev, args[0], ts)?;
            let desc = name == "sort_desc";
            // NaN last either way, as Prometheus sorts.
            v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if desc => b.v.total_cmp(&a.v),
                _ => a.v.total_cmp(&b.v),
            });
            Ok(Value::Vector(v.into_iter().map(|s| Sample { t: ts, ..s }).collect()))
        }
        "label_replace" => {
            let v = vector(ev, args[0], ts)?;
            let (dst, replacement, src, pattern) =
                (string(args[1])?, string(args[2])?, string(args[3])?, string(args[4])?);
            let re = Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|_| Error::Execution(format!("invalid regular expression in label_replace(): {pattern}")))?;
            if !valid_label_name(&dst) {
                return Err(Error::Execution(format!("invalid destination label name in label_replace(): {dst}")));
            }
            Ok(Value::Vector(
                v.into_iter()
                    .map(|mut s| {
                        let value = s.labels.get(&src).unwrap_or("").to_owned();
                        if let Some(caps) = re.captures(&value) {
                            let mut out = String::new();
                            caps.expand(&replacement, &mut out);
                            s.labels.set(&dst, out);
                        }
                        Sample { t: ts, ..s }
                    })
                    .collect(),
            ))
        }
        "label_join" => {
            let v = vector(ev, args[0], ts)?;
            let (dst, sep) = (string(args[1])?, string(args[2])?);
            let sources: Vec<String> = args[3..].iter().map(|a| string(a)).collect::<Result<_, _>>()?;
            if !valid_label_name(&dst) {
                return Err(Error::Execution(format!("invalid destination label name in label_join(): {dst}")));
            }
            if let Some(bad) = sources.iter().find(|s| !valid_label_name(s)) {
                return Err(Error::Execution(format!("invalid source label name in label_join(): {bad}")));
            }
            Ok(Value::Vector(
                v.into_iter()
                    .map(|mut s| {
                        let joined: Vec<&str> = sources.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
                        let joined = joined.join(&sep);
                        s.labels.set(&dst, joined);
                        Sample { t: ts, ..s }
                    })
                    .collect(),
            ))
        }
        "histogram_quantile" => {
            let q = scalar(ev, args[0], ts)?;
            Ok(Value::Vector(histogram_quantile(q, vector(ev, args[1], ts)?, ts)))
        }
        // These read native histograms only; float samples give nothing,
        // as in Prometheus.
        "histogram_count" | "histogram_sum" => {
            vector(ev, args[0], ts)?;
            Ok(Value::Vector(Vec::new()))
        }
        "histogram_fraction" => {
            vector(ev, args[2], ts)?;
            Ok(Value::Vector(Vec::new()))
        }
        other => {
            Err(Error::BadData(format!("function {other:?} is not supported (Sonde evaluates Prometheus 2.42's)")))
        }
    }
}

fn window(ev: &mut Eval<'_>, arg: &Expr, ts: i64) -> Result<Window, Error> {
    match arg {
        Expr::Paren(p) => window(ev, &p.expr, ts),
        Expr::MatrixSelector(ms) => match ev.eval(arg, ts)? {
            Value::Matrix(series) => {
                let end = ev.selector_base(&ms.vs, ts);
                Ok(Window { series, bounds: Bounds { start: end - millis(&ms.range), end } })
            }
            _ => unreachable_matrix(),
        },
        Expr::Subquery(sq) => {
            let (series, start, end) = ev.subquery(sq, ts)?;
            Ok(Window { series, bounds: Bounds { start, end } })
        }
        _ => unreachable_matrix(),
    }
}

fn unreachable_matrix<T>() -> Result<T, Error> {
    Err(Error::Execution("expected a range vector argument".into()))
}

fn vector(ev: &mut Eval<'_>, arg: &Expr, ts: i64) -> Result<Vec<Sample>, Error> {
    match ev.eval(arg, ts)? {
        Value::Vector(v) => Ok(v),
        other => Err(Error::Execution(format!("expected an instant vector argument, got a {}", other.kind()))),
    }
}

fn scalar(ev: &mut Eval<'_>, arg: &Expr, ts: i64) -> Result<f64, Error> {
    match ev.eval(arg, ts)? {
        Value::Scalar(v) => Ok(v),
        other => Err(Error::Execution(format!("expected a scalar argument, got a {}", other.kind()))),
    }
}

fn string(arg: &Expr) -> Result<String, Error> {
    match arg {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        Expr::Paren(p) => string(&p.expr),
        _ => Err(Error::Execution("expected a string literal argument".into())),
    }
}

pub(crate) fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Applies a range function to every series of a window: the metric name
/// dropped (kept by `last_over_time`), series without a result left out.
fn over_time(name: &str, w: Window, ts: i64, f: impl Fn(&str, Bounds, &[(i64, f64)]) -> Option<f64>) -> Value {
    let out = w
        .series
        .iter()
        .filter_map(|s| {
            let v = f(name, w.bounds, &s.samples)?;
            let labels = result_labels(name, &s.labels, &s.labels.clone().without_name());
            Some(Sample { labels, t: ts, v })
        })
        .collect();
    Value::Vector(out)
}

fn range_function(name: &str, w: Bounds, s: &[(i64, f64)]) -> Option<f64> {
    let values = || s.iter().map(|p| p.1);
    match name {
        "rate" => extrapolated_rate(w, s, true, true),
        "increase" => extrapolated_rate(w, s, true, false),
        "delta" => extrapolated_rate(w, s, false, false),
        "irate" => instant_value(s, true),
        "idelta" => instant_value(s, false),
        "deriv" => (s.len() >= 2).then(|| linear_regression(s, s[0].0).0),
        "resets" => Some(s.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64),
        "changes" => {
            Some(s.windows(2).filter(|p| p[1].1 != p[0].1 && !(p[1].1.is_nan() && p[0].1.is_nan())).count() as f64)
        }
        "avg_over_time" => {
            let (mut mean, mut count, mut c) = (0.0f64, 0.0, 0.0);
            for v in values() {
                count += 1.0;
                if mean.is_infinite() {
                    if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                        continue;
                    }
                    if !v.is_infinite() && !v.is_nan() {
                        continue;
                    }
                }
                (mean, c) = kahan_inc(v / count - mean / count, mean, c);
            }
            Some(if mean.is_infinite() { mean } else { mean + c })
        }
        "min_over_time" => Some(values().fold(s[0].1, |m, v| if v < m || m.is_nan() { v } else { m })),
        "max_over_time" => Some(values().fold(s[0].1, |m, v| if v > m || m.is_nan() { v } else { m })),
        "sum_over_time" => {
            let (sum, c) = values().fold((0.0, 0.0), |(sum, c), v| kahan_inc(v, sum, c));
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        "count_over_time" => Some(s.len() as f64),
        "last_over_time" => s.last().map(|p| p.1),
        "present_over_time" => Some(1.0),
        "stddev_over_time" | "stdvar_over_time" => {
            let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
            for v in values() {
                count += 1.0;
                let delta = v - (mean + c_mean);
                (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
                (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
            }
            let var = (aux + c_aux) / count;
            Some(if name == "stddev_over_time" { var.sqrt() } else { var })
        }
        _ => None,
    }
}

/// `rate`, `increase` and `delta`: the change over the window, counter
/// resets added back for counters, extrapolated to the window's edges.
fn extrapolated_rate(w: Bounds, s: &[(i64, f64)], is_counter: bool, is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (first, last) = (s[0], s[s.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        let mut prev = first.1;
        for &(_, v) in &s[1..] {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut to_start = (first.0 - w.start) as f64 / 1000.0;
    let to_end = (w.end - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let average = sampled / (s.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold { to_start } else { average / 2.0 };
    interval += if to_end < threshold { to_end } else { average / 2.0 };
    let mut factor = interval / sampled;
    if is_rate {
        // Go's Duration.Seconds(): whole seconds plus the rest.
        let range = w.end - w.start;
        factor /= (range / 1000) as f64 + ((range % 1000) * 1_000_000) as f64 / 1e9;
    }
    Some(result * factor)
}

/// `irate` and `idelta`: from the last two samples.
fn instant_value(s: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (prev, last) = (s[s.len() - 2], s[s.len() - 1]);
    let mut result = if is_rate && last.1 < prev.1 { last.1 } else { last.1 - prev.1 };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least squares over the samples, x in seconds from `intercept_time`:
/// `(slope, intercept)`.
fn linear_regression(s: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let init = s[0].1;
    let mut constant = true;
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &(t, v)) in s.iter().enumerate() {
        if constant && i > 0 && v != init {
            constant = false;
        }
        n += 1.0;
        let x = (t - intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if constant {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn holt_winters(s: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1, mut b) = (0.0f64, s[0].1, s[1].1 - s[0].1);
    for (i, &(_, v)) in s.iter().enumerate().skip(1) {
        let x = sf * v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

/// The `q` quantile of `values` (NaN sorts first), interpolated between
/// neighbours as Prometheus' `quantile` does.
pub(crate) fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = go_max(0.0, rank.floor());
    let upper = go_min(n - 1.0, lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// `histogram_quantile` over classic buckets: grouped by the labels
/// without `le`, the result without `le` and the metric name.
fn histogram_quantile(q: f64, v: Vec<Sample>, ts: i64) -> Vec<Sample> {
    // (grouping key, output labels, (bound, count) buckets)
    type Group = (Labels, Labels, Vec<(f64, f64)>);
    let mut groups: Vec<Group> = Vec::new();
    let mut index: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    for s in v {
        let Some(bound) = s.labels.get("le").and_then(parse_go_float) else { continue };
        let mut key = s.labels.clone();
        key.remove("le");
        let i = *index.entry(key.clone()).or_insert_with(|| {
            let out = key.clone().without_name();
            groups.push((key, out, Vec::new()));
            groups.len() - 1
        });
        groups[i].2.push((bound, s.v));
    }
    groups
        .into_iter()
        .filter(|g| !g.2.is_empty())
        .map(|(_, labels, buckets)| Sample { labels, t: ts, v: bucket_quantile(q, buckets) })
        .collect()
}

/// Go's `strconv.ParseFloat` for a bucket bound (`+Inf`, `Inf`, exponents).
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => Some(if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }),
        "nan" => Some(f64::NAN),
        _ => s.replace('_', "").parse().ok().filter(|_| !s.starts_with('_') && !s.ends_with('_')),
    }
}

fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal bounds, then make the counts monotonic.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for b in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == b.0 => last.1 += b.1,
            _ => merged.push(b),
        }
    }
    let mut max = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = merged[..merged.len() - 1].partition_point(|b| {
        !matches!(b.1.partial_cmp(&rank), Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal))
    });
    if b == merged.len() - 1 {
        return merged[merged.len() - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// The labels `absent` gives: the selector's equality matchers, less any
/// label matched twice or otherwise.
fn absent_labels(arg: &Expr) -> Labels {
    let matchers = match arg {
        Expr::VectorSelector(vs) => &vs.matchers.matchers,
        Expr::MatrixSelector(ms) => &ms.vs.matchers.matchers,
        _ => return Labels::default(),
    };
    let mut labels = Labels::default();
    let mut has = std::collections::HashSet::new();
    for m in matchers.iter().filter(|m| m.name != crate::labels::METRIC_NAME) {
        if matches!(m.op, promql_parser::label::MatchOp::Equal) && has.insert(m.name.as_str()) {
            labels.set(&m.name, m.value.clone());
        } else {
            labels.remove(&m.name);
        }
    }
    labels
}

fn map_values(v: Vec<Sample>, ts: i64, f: impl Fn(f64) -> f64) -> Value {
    Value::Vector(v.into_iter().map(|s| Sample { labels: s.labels.without_name(), t: ts, v: f(s.v) }).collect())
}

fn simple(name: &str) -> fn(f64) -> f64 {
    match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        _ => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
    }
}

/// The civil date of a day count from 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn date_part(name: &str) -> fn(i64) -> f64 {
    match name {
        "year" => |s| civil(s.div_euclid(86_400)).0 as f64,
        "month" => |s| f64::from(civil(s.div_euclid(86_400)).1),
        "day_of_month" => |s| f64::from(civil(s.div_euclid(86_400)).2),
        "day_of_week" => |s| (s.div_euclid(86_400) + 4).rem_euclid(7) as f64,
        "day_of_year" => |s| {
            let (y, m, d) = civil(s.div_euclid(86_400));
            const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
            f64::from(BEFORE[m as usize - 1] + d + u32::from(m > 2 && leap(y)))
        },
        "days_in_month" => |s| {
            let (y, m, _) = civil(s.div_euclid(86_400));
            f64::from(match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            })
        },
        "hour" => |s| s.rem_euclid(86_400).div_euclid(3600) as f64,
        _ => |s| s.rem_euclid(3600).div_euclid(60) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        // 2024-02-29T13:45:00Z, a Thursday, day 60 of a leap year.
        let t = 1_709_214_300;
        let parts: Vec<f64> =
            ["year", "month", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute"]
                .iter()
                .map(|n| date_part(n)(t))
                .collect();
        assert_eq!(parts, [2024.0, 2.0, 29.0, 4.0, 60.0, 29.0, 13.0, 45.0]);
        assert_eq!(date_part("year")(-1), 1969.0);
        assert_eq!(date_part("day_of_week")(0), 4.0);
    }

    #[test]
    fn bucket_quantile_interpolates_within_the_bucket() {
        let b = vec![(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)];
        assert_eq!(bucket_quantile(0.5, b.clone()), 1.0);
        assert_eq!(bucket_quantile(0.75, b.clone()), 1.5);
        assert_eq!(bucket_quantile(1.0, b), 2.0);
        assert!(bucket_quantile(0.5, vec![(1.0, 1.0)]).is_nan());
    }
}
