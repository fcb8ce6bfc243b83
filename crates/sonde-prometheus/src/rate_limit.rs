//! A token bucket limiting scrapes per second.

use std::sync::Mutex;
use std::time::Instant;

pub(crate) struct RateLimit {
    per_second: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    /// Allows `per_second` requests per second on average, bursts of the
    /// same size.
    pub(crate) fn new(per_second: f64) -> Self {
        Self { per_second, state: Mutex::new((per_second, Instant::now())) }
    }

    /// Takes a token; on refusal returns the seconds until one is available.
    pub(crate) fn try_take(&self) -> Result<(), u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *s;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.per_second).min(self.per_second.max(1.0));
        if tokens >= 1.0 {
            *s = (tokens - 1.0, now);
            Ok(())
        } else {
            *s = (tokens, now);
            Err(((1.0 - tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses() {
        let r = RateLimit::new(2.0);
        assert!(r.try_take().is_ok());
        assert!(r.try_take().is_ok());
        assert_eq!(r.try_take(), Err(1));
    }
}
