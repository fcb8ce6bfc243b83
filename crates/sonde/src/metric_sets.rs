//! Ready-made metric sets for common subsystems (health checks, queues,
//! coordination), each with its names fixed by a list of [`MetricSpec`]s,
//! so a strict registry can declare them.
//!
//! ```
//! use std::time::Duration;
//! use sonde::metric_sets::{HealthMetrics, HealthStatus, QueueMetrics};
//!
//! let registry = sonde::Registry::new();
//! let health = HealthMetrics::register(&registry)?;
//! health.record_check(HealthStatus::Healthy, Duration::from_millis(3));
//! let queue = QueueMetrics::register(&registry)?;
//! queue.sent();
//! queue.received();
//! queue.set_size(4);
//! let snap = registry.snapshot();
//! assert_eq!(snap.family("health_status").unwrap().series().next().unwrap().value().as_f64(), 1.0);
//! assert_eq!(snap.family("message_queue_size").unwrap().series().next().unwrap().value().as_f64(), 4.0);
//! # Ok::<(), sonde::Error>(())
//! ```

use std::time::Duration;

use crate::{Counter, Gauge, Histogram, MetricKind, MetricSpec, Registry, Result, Timer};

/// A component's health, as the `health_status` gauge reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    /// 0: not checked yet.
    Unknown = 0,
    /// 1: working.
    Healthy = 1,
    /// 2: working with problems.
    Degraded = 2,
    /// 3: not working.
    Unhealthy = 3,
}

/// `health_status`, `health_checks_total`, `health_check_duration_seconds`.
#[derive(Clone, Debug)]
pub struct HealthMetrics {
    status: Gauge,
    checks: Counter,
    duration: Histogram,
}

impl HealthMetrics {
    /// The metrics this set registers.
    pub fn specs() -> Vec<MetricSpec> {
        vec![
            MetricSpec::new(
                "health_status",
                MetricKind::Gauge,
                "Current health (0=unknown, 1=healthy, 2=degraded, 3=unhealthy).",
            ),
            MetricSpec::new("health_checks_total", MetricKind::Counter, "Health checks performed."),
            MetricSpec::new("health_check_duration_seconds", MetricKind::Histogram, "Health check duration.")
                .unit("seconds"),
        ]
    }

    /// Registers (or gets) the set on `registry`.
    ///
    /// # Errors
    ///
    /// The registry's error when one of the set's names is declared differently, or (in a strict registry)
    /// not declared.
    pub fn register(registry: &Registry) -> Result<Self> {
        let s = Self::specs();
        Ok(Self {
            status: registry.gauge(&s[0].name).help(&s[0].help).register()?,
            checks: registry.counter(&s[1].name).help(&s[1].help).register()?,
            duration: registry.histogram(&s[2].name).help(&s[2].help).unit("seconds").register()?,
        })
    }

    /// Records one check: its outcome becomes the current status.
    pub fn record_check(&self, status: HealthStatus, took: Duration) {
        self.status.set(status as i32 as f64);
        self.checks.inc();
        self.duration.observe(took.as_secs_f64());
    }

    /// Sets the status without a check.
    pub fn set_status(&self, status: HealthStatus) {
        self.status.set(status as i32 as f64);
    }
}

/// `messages_sent_total`, `messages_received_total`, `message_queue_size`,
/// `message_processing_duration_seconds`.
#[derive(Clone, Debug)]
pub struct QueueMetrics {
    sent: Counter,
    received: Counter,
    size: Gauge,
    processing: Timer,
}

impl QueueMetrics {
    /// The metrics this set registers.
    pub fn specs() -> Vec<MetricSpec> {
        vec![
            MetricSpec::new("messages_sent_total", MetricKind::Counter, "Messages sent."),
            MetricSpec::new("messages_received_total", MetricKind::Counter, "Messages received."),
            MetricSpec::new("message_queue_size", MetricKind::Gauge, "Messages waiting in the queue."),
            MetricSpec::new(
                "message_processing_duration_seconds",
                MetricKind::Histogram,
                "Message processing duration.",
            )
            .unit("seconds"),
        ]
    }

    /// Registers (or gets) the set on `registry`.
    ///
    /// # Errors
    ///
    /// The registry's error when one of the set's names is declared differently, or (in a strict registry)
    /// not declared.
    pub fn register(registry: &Registry) -> Result<Self> {
        let s = Self::specs();
        Ok(Self {
            sent: registry.counter(&s[0].name).help(&s[0].help).register()?,
            received: registry.counter(&s[1].name).help(&s[1].help).register()?,
            size: registry.gauge(&s[2].name).help(&s[2].help).register()?,
            processing: registry.timer(&s[3].name).help(&s[3].help).register()?,
        })
    }

    /// One message sent.
    pub fn sent(&self) {
        self.sent.inc();
    }

    /// One message received.
    pub fn received(&self) {
        self.received.inc();
    }

    /// The queue's current length.
    pub fn set_size(&self, n: usize) {
        self.size.set(n as f64);
    }

    /// Records how long one message took.
    pub fn record_processing(&self, took: Duration) {
        self.processing.record(took);
    }

    /// Runs `f` as the processing of one message, timing it.
    pub fn process<R>(&self, f: impl FnOnce() -> R) -> R {
        self.processing.time(f)
    }
}

/// `coordination_messages_total`, `coordination_active_nodes`,
/// `coordination_message_latency_seconds`.
#[derive(Clone, Debug)]
pub struct CoordinationMetrics {
    messages: Counter,
    nodes: Gauge,
    latency: Histogram,
}

impl CoordinationMetrics {
    /// The metrics this set registers.
    pub fn specs() -> Vec<MetricSpec> {
        vec![
            MetricSpec::new("coordination_messages_total", MetricKind::Counter, "Coordination messages."),
            MetricSpec::new("coordination_active_nodes", MetricKind::Gauge, "Active coordination nodes."),
            MetricSpec::new(
                "coordination_message_latency_seconds",
                MetricKind::Histogram,
                "Coordination message latency.",
            )
            .unit("seconds"),
        ]
    }

    /// Registers (or gets) the set on `registry`.
    ///
    /// # Errors
    ///
    /// The registry's error when one of the set's names is declared differently, or (in a strict registry)
    /// not declared.
    pub fn register(registry: &Registry) -> Result<Self> {
        let s = Self::specs();
        Ok(Self {
            messages: registry.counter(&s[0].name).help(&s[0].help).register()?,
            nodes: registry.gauge(&s[1].name).help(&s[1].help).register()?,
            latency: registry.histogram(&s[2].name).help(&s[2].help).unit("seconds").register()?,
        })
    }

    /// One message, with its latency.
    pub fn message(&self, latency: Duration) {
        self.messages.inc();
        self.latency.observe(latency.as_secs_f64());
    }

    /// The number of active nodes.
    pub fn set_active_nodes(&self, n: usize) {
        self.nodes.set(n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sets_fit_a_strict_registry_of_their_specs() {
        let specs = [HealthMetrics::specs(), QueueMetrics::specs(), CoordinationMetrics::specs()].concat();
        let strict = Registry::strict(specs).unwrap();
        let health = HealthMetrics::register(&strict).unwrap();
        let queue = QueueMetrics::register(&strict).unwrap();
        let coord = CoordinationMetrics::register(&strict).unwrap();
        health.record_check(HealthStatus::Degraded, Duration::from_millis(5));
        queue.process(|| ());
        coord.message(Duration::from_millis(2));
        coord.set_active_nodes(3);
        let text = crate::encode::prometheus_text(&strict.snapshot());
        for name in [
            "health_status 2",
            "health_checks_total 1",
            "health_check_duration_seconds_count 1",
            "message_processing_duration_seconds_count 1",
            "coordination_active_nodes 3",
            "coordination_messages_total 1",
        ] {
            assert!(text.contains(name), "{name} in\n{text}");
        }
        // Registering twice returns the same instruments.
        HealthMetrics::register(&strict).unwrap().record_check(HealthStatus::Healthy, Duration::ZERO);
        assert!(crate::encode::prometheus_text(&strict.snapshot()).contains("health_checks_total 2"));
    }
}
