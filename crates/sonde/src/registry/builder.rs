//! Builders that declare instruments on a registry.

use std::marker::PhantomData;
use std::time::Duration;

use super::{Family, Registry};
use crate::labels::OVERFLOW_LABEL_VALUE;
use crate::metrics::Metric;
use crate::{Buckets, Histogram, Result, Summary, SummaryOptions, Timer};

/// Declares one instrument: set options, then [`MetricBuilder::register`]
/// (or [`MetricBuilder::labels`] for a labeled family).
#[must_use = "nothing is declared until `register` is called"]
pub struct MetricBuilder<'r, M: Metric> {
    registry: &'r Registry,
    decl: Declaration<M::Layout>,
    _kind: PhantomData<M>,
}

/// Everything a builder collected, handed to the registry in one piece.
pub(crate) struct Declaration<L> {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Option<String>,
    pub(crate) labels: Vec<String>,
    pub(crate) layout: Option<L>,
    /// Exemplar capture asked for (applied to whichever layout results).
    pub(crate) exemplars: bool,
    pub(crate) limit: Option<usize>,
    pub(crate) ttl: Option<Duration>,
}

/// Declares a labeled family; see [`MetricBuilder::labels`].
#[must_use = "nothing is declared until `register` is called"]
pub struct FamilyBuilder<'r, M: Metric>(MetricBuilder<'r, M>);

impl<'r, M: Metric> MetricBuilder<'r, M> {
    pub(crate) fn new(registry: &'r Registry, name: &str) -> Self {
        Self {
            registry,
            decl: Declaration {
                name: name.into(),
                help: String::new(),
                unit: None,
                labels: Vec::new(),
                layout: None,
                exemplars: false,
                limit: None,
                ttl: None,
            },
            _kind: PhantomData,
        }
    }

    /// Sets the help text.
    pub fn help(mut self, help: &str) -> Self {
        self.decl.help = help.into();
        self
    }

    /// Sets the unit; the name gets `_<unit>` appended if it lacks it.
    pub fn unit(mut self, unit: &str) -> Self {
        self.decl.unit = Some(unit.into());
        self
    }

    /// Declares label names, turning this into a [`FamilyBuilder`].
    pub fn labels<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> FamilyBuilder<'r, M> {
        self.decl.labels = names.into_iter().map(|s| s.as_ref().to_owned()).collect();
        FamilyBuilder(self)
    }

    /// Declares the instrument (or returns the existing identical one).
    ///
    /// # Errors
    ///
    /// An [`Error`](crate::Error) naming the input: an invalid metric name or unit, a name already declared
    /// with another kind, labels, unit or layout ([`Error::Conflict`](crate::Error::Conflict)), or (in a
    /// strict registry) a name not declared or of another kind.
    pub fn register(self) -> Result<M> {
        let family = self.declare()?;
        Ok(family.bind(&[]))
    }

    fn declare(self) -> Result<Family<M>> {
        let unlabeled = self.decl.labels.is_empty();
        let family = self.registry.declare::<M>(self.decl)?;
        // Create the series eagerly so it is exported from the start.
        if unlabeled && family.prefix.iter().all(|v| &**v != OVERFLOW_LABEL_VALUE) {
            family.try_with(&[])?;
        }
        Ok(family)
    }
}

impl<'r, M: Metric> FamilyBuilder<'r, M> {
    /// Sets the family's cardinality limit (the registry's default otherwise).
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.0.decl.limit = Some(limit);
        self
    }

    /// Removes series whose value has not changed for `ttl` (checked at each
    /// collection). Handles bound to a removed series stop being exported.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.0.decl.ttl = Some(ttl);
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: &str) -> Self {
        self.0.decl.help = help.into();
        self
    }

    /// Declares the family (or returns the existing identical one).
    ///
    /// # Errors
    ///
    /// An [`Error`](crate::Error) naming the input: an invalid metric or label name, a label reserved for the
    /// kind (`le`, `quantile`) or declared twice, too many labels, a zero cardinality limit, a name already
    /// declared with another kind, labels, unit or layout ([`Error::Conflict`](crate::Error::Conflict)), or
    /// (in a strict registry) a name not declared or of another kind.
    pub fn register(self) -> Result<Family<M>> {
        self.0.declare()
    }
}

macro_rules! bucket_options {
    ($($t:ty),*) => {$(
        impl<'r> MetricBuilder<'r, $t> {
            /// Sets the bucket layout (default: the unit's preset).
            pub fn buckets(mut self, buckets: Buckets) -> Self {
                self.decl.layout = Some(buckets);
                self
            }

            /// Captures exemplars (see [`Buckets::with_exemplars`]), in
            /// whichever order `unit`, `buckets` and this are called.
            pub fn exemplars(mut self) -> Self {
                self.decl.exemplars = true;
                self
            }
        }
        impl<'r> FamilyBuilder<'r, $t> {
            /// Sets the bucket layout (default: the unit's preset).
            pub fn buckets(mut self, buckets: Buckets) -> Self {
                self.0.decl.layout = Some(buckets);
                self
            }

            /// Captures exemplars (see [`Buckets::with_exemplars`]), in
            /// whichever order `buckets` and this are called.
            pub fn exemplars(mut self) -> Self {
                self.0.decl.exemplars = true;
                self
            }
        }
    )*};
}
bucket_options!(Histogram, Timer);

impl<'r> MetricBuilder<'r, Summary> {
    /// Sets quantiles and window (default: 0.5, 0.9, 0.99 over 10 minutes).
    pub fn options(mut self, options: SummaryOptions) -> Self {
        self.decl.layout = Some(options);
        self
    }
}

impl<'r> FamilyBuilder<'r, Summary> {
    /// Sets quantiles and window (default: 0.5, 0.9, 0.99 over 10 minutes).
    pub fn options(mut self, options: SummaryOptions) -> Self {
        self.0.decl.layout = Some(options);
        self
    }
}
