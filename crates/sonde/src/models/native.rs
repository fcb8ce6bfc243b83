//! Native histogram cells: windows replaced while other threads write and
//! read.

use crate::metrics::native_cell::NativeCell;
use crate::sync::{thread, Arc};
use crate::NativeBuckets;

/// Property: with a limit of two buckets, a writer's second value forces
/// its row to a new window (copied, the old one freed unless the reader is
/// inside) while a second writer inflates the cell; a concurrent reader
/// sees a count no larger than what was observed, and never reaches a
/// window the writer freed (under the model a freed window is marked, and
/// reading a marked one fails: this caught a missing reader-side fence);
/// every value ends counted exactly once.
#[test]
fn windows_replaced_under_writers_and_a_reader_lose_nothing() {
    super::check(|| {
        let options = NativeBuckets::new().schema(0).unwrap().max_buckets(2).unwrap();
        let cell = Arc::new(NativeCell::new(options));
        let resizing = {
            let cell = cell.clone();
            thread::spawn(move || {
                cell.observe(1.0);
                cell.observe(64.0);
            })
        };
        let other = {
            let cell = cell.clone();
            thread::spawn(move || cell.observe(0.25))
        };
        let seen = cell.read().count;
        assert!(seen <= 3, "read {seen}");
        resizing.join().unwrap();
        other.join().unwrap();
        let s = cell.read();
        assert_eq!(s.count, 3);
        assert_eq!(s.sum, 65.25);
    });
}
