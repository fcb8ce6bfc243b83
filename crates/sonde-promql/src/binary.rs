//! Binary operators: arithmetic, comparisons (filtering or `bool`) and the
//! set operators, with `on`/`ignoring` and `group_left`/`group_right`, as
//! Prometheus 2.42 matches them.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD, T_MUL, T_NEQ, T_POW,
    T_SUB,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::engine::Eval;
use crate::labels::METRIC_NAME;
use crate::{Error, Labels, Sample, Value};

type Signature = Vec<(String, String)>;

struct Matching<'a> {
    on: bool,
    names: &'a [String],
    card: &'a VectorMatchCardinality,
}

impl Matching<'_> {
    fn signature(&self, labels: &Labels) -> Signature {
        labels
            .iter()
            .filter(|(n, _)| {
                if self.on {
                    self.names.iter().any(|m| m == n)
                } else {
                    *n != METRIC_NAME && !self.names.iter().any(|m| m == n)
                }
            })
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }
}

pub(crate) fn eval(ev: &mut Eval<'_>, b: &BinaryExpr, ts: i64) -> Result<Value, Error> {
    let op = b.op.id();
    let lhs = ev.eval(&b.lhs, ts)?;
    let rhs = ev.eval(&b.rhs, ts)?;
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => Ok(Value::Scalar(scalar_op(op, l, r)?)),
        (Value::Vector(l), Value::Scalar(r)) => Ok(Value::Vector(vector_scalar(op, l, r, false, return_bool, ts)?)),
        (Value::Scalar(l), Value::Vector(r)) => Ok(Value::Vector(vector_scalar(op, r, l, true, return_bool, ts)?)),
        (Value::Vector(l), Value::Vector(r)) => {
            let none: &[String] = &[];
            let one_to_one = VectorMatchCardinality::OneToOne;
            let (on, names) = match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                Some(LabelModifier::Include(n)) => (true, n.labels.as_slice()),
                Some(LabelModifier::Exclude(n)) => (false, n.labels.as_slice()),
                None => (false, none),
            };
            let card = b.modifier.as_ref().map_or(&one_to_one, |m| &m.card);
            let matching = Matching { on, names, card };
            let out = match op {
                T_LAND => and_unless(l, r, &matching, true),
                T_LUNLESS => and_unless(l, r, &matching, false),
                T_LOR => or(l, r, &matching),
                _ => vector_vector(op, l, r, &matching, return_bool)?,
            };
            Ok(Value::Vector(out.into_iter().map(|s| Sample { t: ts, ..s }).collect()))
        }
        (l, r) => Err(Error::Execution(format!("binary operation between a {} and a {}", l.kind(), r.kind()))),
    }
}

fn is_comparison(op: u16) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Arithmetic drops the metric name; comparisons and `atan2` keep it.
fn drops_name(op: u16) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD)
}

/// `(value, keep)`: comparisons keep the left value when true.
fn elem_op(op: u16, l: f64, r: f64) -> Result<(f64, bool), Error> {
    Ok(match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_POW => (l.powf(r), true),
        T_MOD => (l % r, true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => return Err(Error::Execution(format!("operator {op} not allowed between samples"))),
    })
}

fn scalar_op(op: u16, l: f64, r: f64) -> Result<f64, Error> {
    let (v, keep) = elem_op(op, l, r)?;
    Ok(if is_comparison(op) { f64::from(u8::from(keep)) } else { v })
}

fn vector_scalar(
    op: u16,
    v: Vec<Sample>,
    scalar: f64,
    swap: bool,
    return_bool: bool,
    ts: i64,
) -> Result<Vec<Sample>, Error> {
    let mut out = Vec::with_capacity(v.len());
    for s in v {
        let (l, r) = if swap { (scalar, s.v) } else { (s.v, scalar) };
        let (mut value, mut keep) = elem_op(op, l, r)?;
        if is_comparison(op) && swap {
            value = r;
        }
        if return_bool {
            value = f64::from(u8::from(keep));
            keep = true;
        }
        if keep {
            let labels = if drops_name(op) || return_bool { s.labels.without_name() } else { s.labels };
            out.push(Sample { labels, t: ts, v: value });
        }
    }
    Ok(out)
}

fn and_unless(l: Vec<Sample>, r: Vec<Sample>, m: &Matching<'_>, and: bool) -> Vec<Sample> {
    if r.is_empty() {
        return if and { Vec::new() } else { l };
    }
    let right: HashSet<Signature> = r.iter().map(|s| m.signature(&s.labels)).collect();
    l.into_iter().filter(|s| right.contains(&m.signature(&s.labels)) == and).collect()
}

fn or(l: Vec<Sample>, r: Vec<Sample>, m: &Matching<'_>) -> Vec<Sample> {
    let left: HashSet<Signature> = l.iter().map(|s| m.signature(&s.labels)).collect();
    let mut out = l;
    out.extend(r.into_iter().filter(|s| !left.contains(&m.signature(&s.labels))));
    out
}

fn vector_vector(
    op: u16,
    l: Vec<Sample>,
    r: Vec<Sample>,
    m: &Matching<'_>,
    return_bool: bool,
) -> Result<Vec<Sample>, Error> {
    if l.is_empty() || r.is_empty() {
        return Ok(Vec::new());
    }
    let one_to_many = matches!(m.card, VectorMatchCardinality::OneToMany(_));
    let one_to_one = matches!(m.card, VectorMatchCardinality::OneToOne);
    let include: &[String] = m.card.labels().map_or(&[], |n| n.labels.as_slice());
    let (many, one) = if one_to_many { (r, l) } else { (l, r) };
    let mut one_side: HashMap<Signature, Sample> = HashMap::with_capacity(one.len());
    for s in one {
        let sig = m.signature(&s.labels);
        if let Some(dup) = one_side.get(&sig) {
            return Err(Error::Execution(format!(
                "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                Labels::new(sig.clone()),
                if one_to_many { "left" } else { "right" },
                s.labels,
                dup.labels
            )));
        }
        one_side.insert(sig, s);
    }
    let mut matched: HashMap<Signature, HashSet<Labels>> = HashMap::new();
    let mut out = Vec::new();
    for s in many {
        let sig = m.signature(&s.labels);
        let Some(o) = one_side.get(&sig) else { continue };
        let (vl, vr) = if one_to_many { (o.v, s.v) } else { (s.v, o.v) };
        let (mut value, keep) = elem_op(op, vl, vr)?;
        if return_bool {
            value = f64::from(u8::from(keep));
        } else if !keep {
            continue;
        }
        let mut labels = result_labels(&s.labels, &o.labels, op, m, one_to_one, include);
        if return_bool {
            labels.remove(METRIC_NAME);
        }
        let seen = matched.entry(sig).or_default();
        if one_to_one {
            if !seen.is_empty() {
                return Err(Error::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        .into(),
                ));
            }
            seen.insert(Labels::default());
        } else if !seen.insert(labels.clone()) {
            return Err(Error::Execution(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        out.push(Sample { labels, t: s.t, v: value });
    }
    Ok(out)
}

fn result_labels(
    many: &Labels,
    one: &Labels,
    op: u16,
    m: &Matching<'_>,
    one_to_one: bool,
    include: &[String],
) -> Labels {
    let mut labels = many.clone();
    if drops_name(op) {
        labels.remove(METRIC_NAME);
    }
    if one_to_one {
        if m.on {
            labels.retain(|n| m.names.iter().any(|k| k == n));
        } else {
            labels.retain(|n| !m.names.iter().any(|k| k == n));
        }
    }
    for name in include {
        labels.set(name, one.get(name).unwrap_or("").to_owned());
    }
    labels
}
