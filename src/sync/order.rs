//! The order in which fetched feeds are written.
//!
//! Feeds finish fetching in any order, but entry ids (shown by `list`, used
//! by `show`) are given in the order entries are written. Writing the feeds
//! in the order of feeds.toml makes a sync of the same documents give the
//! same ids every time (the README's examples rely on it). A feed that
//! finished early waits for the ones before it, but never long: after
//! [`MAX_WAIT`] it is written anyway, so one slow server delays the others
//! by that at most, and what waits (and holds its fetch slot) stays bounded.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

/// How long a finished feed waits for the feeds listed before it.
pub const MAX_WAIT: Duration = Duration::from_millis(250);

/// Finished feeds by their position in feeds.toml, released in that order.
#[derive(Debug)]
pub struct InOrder<T> {
    /// Positions that will never arrive (not fetched) or were released.
    settled: Vec<bool>,
    next: usize,
    pending: BTreeMap<usize, (Instant, T)>,
    /// How many feeds can wait here at most before waiting is pointless:
    /// each holds one of the run's fetch slots until it is written, so when
    /// all of them wait here, the feed they wait for cannot even start.
    slots: usize,
}

impl<T> InOrder<T> {
    /// For `n` positions, of which `absent` will never arrive, fetched
    /// with `slots` fetch slots.
    pub fn new(n: usize, absent: impl IntoIterator<Item = usize>, slots: usize) -> InOrder<T> {
        let mut settled = vec![false; n];
        for i in absent {
            if let Some(s) = settled.get_mut(i) {
                *s = true;
            }
        }
        let mut order = InOrder { settled, next: 0, pending: BTreeMap::new(), slots: slots.max(1) };
        order.advance();
        order
    }

    fn advance(&mut self) {
        while self.settled.get(self.next).copied().unwrap_or(false) {
            self.next += 1;
        }
    }

    /// A feed finished at `at`.
    pub fn push(&mut self, position: usize, item: T, at: Instant) {
        self.pending.insert(position, (at, item));
    }

    /// A position that will not arrive after all (its task failed), or
    /// that was written without waiting its turn (a feed not modified).
    pub fn forget(&mut self, position: usize) {
        if let Some(s) = self.settled.get_mut(position) {
            *s = true;
        }
        self.advance();
    }

    /// The next feed to write at `now`: the next in order if it is there,
    /// else one that has waited [`MAX_WAIT`] (the earliest listed), or the
    /// earliest listed at once if every fetch slot is held by a feed waiting here.
    pub fn pop(&mut self, now: Instant) -> Option<(usize, T)> {
        let position = if self.pending.contains_key(&self.next) {
            self.next
        } else if self.pending.len() >= self.slots {
            *self.pending.keys().next()?
        } else {
            *self.pending.iter().find(|(_, (at, _))| now.duration_since(*at) >= MAX_WAIT)?.0
        };
        let (_, item) = self.pending.remove(&position)?;
        self.forget(position);
        Some((position, item))
    }

    /// Everything still waiting, in order (at the end of the run).
    pub fn drain(&mut self) -> Vec<(usize, T)> {
        std::mem::take(&mut self.pending).into_iter().map(|(i, (_, item))| (i, item)).collect()
    }

    /// When a waiting feed will be written even if those before it are not
    /// there yet.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.values().map(|(at, _)| *at + MAX_WAIT).min()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_are_released_in_config_order_whatever_order_they_finish_in() {
        let t = Instant::now();
        let mut o = InOrder::new(5, [2], 16);
        o.push(3, "d", t);
        o.push(1, "b", t);
        assert_eq!(o.pop(t), None, "0 is not there yet");
        o.push(0, "a", t);
        let got: Vec<_> = std::iter::from_fn(|| o.pop(t)).collect();
        assert_eq!(got, [(0, "a"), (1, "b"), (3, "d")], "2 is never fetched");
        o.push(4, "e", t);
        assert_eq!(o.pop(t), Some((4, "e")));
        assert!(o.is_empty());
    }

    #[test]
    fn a_feed_waits_for_a_slow_one_only_so_long() {
        let t = Instant::now();
        let mut o = InOrder::new(3, [], 16);
        o.push(2, "c", t);
        o.push(1, "b", t + Duration::from_millis(100));
        assert_eq!(o.pop(t + Duration::from_millis(200)), None);
        assert_eq!(o.deadline(), Some(t + MAX_WAIT));
        assert_eq!(o.pop(t + MAX_WAIT), Some((2, "c")), "waited long enough");
        assert_eq!(o.pop(t + MAX_WAIT), None, "1 has not waited long enough");
        o.forget(0); // its task failed
        assert_eq!(o.pop(t + MAX_WAIT), Some((1, "b")));
        assert_eq!(o.drain(), []);
    }

    /// Finished feeds keep their fetch slots until written: when they hold
    /// them all, the feed before them cannot start, and waiting for it
    /// would stall the run MAX_WAIT at a time (a 5,776-document sync with
    /// two slots spent most of its time so).
    #[test]
    fn no_feed_waits_when_the_waiting_ones_hold_every_slot() {
        let t = Instant::now();
        let mut o = InOrder::new(4, [], 2);
        o.push(2, "c", t);
        assert_eq!(o.pop(t), None, "a slot is free: 0 and 1 may still come");
        o.push(3, "d", t);
        assert_eq!(o.pop(t), Some((2, "c")), "both slots wait here: the earliest goes at once");
        assert_eq!(o.pop(t), None);
        o.push(0, "a", t);
        assert_eq!(o.pop(t), Some((0, "a")));
    }
}
