//! Exponential backoff with jitter, honouring the receiver's `Retry-After`.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::{Attempt, Stats};
use crate::config::RetryPolicy;
use crate::Error;

/// Runs `attempt` until it succeeds, fails for good, runs out of retries or
/// would pass `policy.max_elapsed`. Returns the partial-success counts.
pub(crate) fn run(
    policy: &RetryPolicy,
    stats: &Stats,
    mut attempt: impl FnMut() -> Attempt,
) -> Result<(i64, String), Error> {
    let deadline = Instant::now() + policy.max_elapsed;
    let mut backoff = policy.initial;
    let mut retries = 0;
    loop {
        match attempt() {
            Attempt::Done { rejected, message } => return Ok((rejected, message)),
            Attempt::Fail(e) => return Err(e),
            Attempt::Retry(e, after) => {
                if retries >= policy.attempts {
                    return Err(e);
                }
                let wait = after.unwrap_or_else(|| backoff.mul_f64(0.8 + fastrand::f64() * 0.4));
                if Instant::now() + wait > deadline {
                    return Err(e);
                }
                log::debug!(target: "sonde::otlp", "{e}; retrying in {wait:?}");
                std::thread::sleep(wait);
                retries += 1;
                stats.retries.fetch_add(1, Relaxed);
                backoff = backoff.mul_f64(1.5).min(policy.max);
            }
        }
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at five minutes.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            httpdate::parse_http_date(value).ok()?.duration_since(std::time::SystemTime::now()).unwrap_or_default()
        }
    };
    Some(wait.min(Duration::from_secs(300)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            initial: Duration::from_millis(1),
            max: Duration::from_millis(4),
            max_elapsed: Duration::from_secs(5),
        }
    }

    fn retryable() -> Error {
        Error::Status { signal: "traces", status: 503, message: String::new(), retryable: true }
    }

    #[test]
    fn retries_until_success_and_counts_retries() {
        let stats = Stats::default();
        let mut n = 0;
        let r = run(&policy(5), &stats, || {
            n += 1;
            if n < 3 {
                Attempt::Retry(retryable(), None)
            } else {
                Attempt::Done { rejected: 0, message: String::new() }
            }
        });
        assert!(r.is_ok());
        assert_eq!((n, stats.retries.load(Relaxed)), (3, 2));
    }

    #[test]
    fn gives_up_after_the_attempts_and_never_retries_a_failure() {
        let stats = Stats::default();
        let mut n = 0;
        assert!(run(&policy(2), &stats, || {
            n += 1;
            Attempt::Retry(retryable(), None)
        })
        .is_err());
        assert_eq!(n, 3);
        n = 0;
        assert!(run(&policy(2), &stats, || {
            n += 1;
            Attempt::Fail(Error::Config("x".into()))
        })
        .is_err());
        assert_eq!(n, 1);
    }

    #[test]
    fn a_retry_after_past_the_deadline_ends_at_once() {
        let stats = Stats::default();
        let started = Instant::now();
        let r = run(&policy(5), &stats, || Attempt::Retry(retryable(), Some(Duration::from_secs(60))));
        assert!(r.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(300)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO), "a past date");
        assert_eq!(parse_retry_after("soon"), None);
    }
}
