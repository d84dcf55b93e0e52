//! What time it is, in whole seconds (the precision every stored time has). In service,
//! the system's clock; in tests, a clock moved by hand, so that what waits for time
//! (renewals, a visit's lease, an idempotency claim, a webhook's retry) is tested without
//! waiting. The store carries it, so every door and use case reads the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// A manual clock's time, in seconds since the epoch; `None` for the system's.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock standing at `start` until it is moved.
    pub fn manual(start: Timestamp) -> Clock {
        Clock { manual: Some(Arc::new(AtomicI64::new(start.as_second()))) }
    }

    pub fn now(&self) -> Timestamp {
        let seconds = match &self.manual {
            Some(manual) => manual.load(Ordering::SeqCst),
            None => Timestamp::now().as_second(),
        };
        Timestamp::from_second(seconds).expect("the clock is in range")
    }

    /// Moves a manual clock on by `by` (every copy of it moves); the system's clock moves
    /// by itself, so this does nothing to it.
    pub fn advance(&self, by: SignedDuration) {
        if let Some(manual) = &self.manual {
            manual.fetch_add(by.as_secs(), Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_moved_and_all_its_copies_with_it() {
        let start = Timestamp::from_second(1_700_000_000).unwrap();
        let clock = Clock::manual(start);
        let copy = clock.clone();
        assert_eq!(clock.now(), start);
        copy.advance(SignedDuration::from_hours(1));
        assert_eq!(clock.now().as_second(), start.as_second() + 3600);
    }

    #[test]
    fn the_system_clock_reads_whole_seconds_near_now() {
        let now = Clock::system().now();
        assert_eq!(now.subsec_nanosecond(), 0);
        assert!((Timestamp::now().as_second() - now.as_second()).abs() <= 1);
    }
}
