//! Which member of a list of (key, value) pairs first repeats an earlier member's key: the
//! configuration's duplicate-key and unique-name checks, in n log n.

use core::cmp::Ordering;

/// The index of the first member of `items` whose key equals an earlier member's, if any;
/// `ignore_case`: ASCII letters equal their other case. O(n log n) comparisons: the indices are
/// sorted by key, then by index, so that equal keys end up side by side, the earliest first;
/// the answer is the smallest index that follows an equal key.
pub fn first_repeated<V>(items: &[(String, V)], ignore_case: bool) -> Option<usize> {
    let list = List { items, ignore_case };
    let mut order: Vec<usize> = (0..items.len()).collect();
    list.heapsort(&mut order);
    let mut first = None;
    let mut previous = None;
    for &index in &order {
        if previous.is_some_and(|p| list.cmp(p, index) == Ordering::Equal) {
            first = Some(first.map_or(index, |f: usize| f.min(index)));
        }
        previous = Some(index);
    }
    first
}

/// The members, and how their keys compare.
struct List<'a, V> {
    items: &'a [(String, V)],
    ignore_case: bool,
}

impl<V> List<'_, V> {
    /// Compares the keys of the members at two indices.
    fn cmp(&self, a: usize, b: usize) -> Ordering {
        #[cfg(test)]
        tests::COMPARISONS.with(|c| c.set(c.get() + 1));
        let item = |i: usize| self.items.get(i).map_or(&[][..], |(k, _)| k.as_bytes());
        let (a, b) = (item(a), item(b));
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = match self.ignore_case {
                true => (x.to_ascii_lowercase(), y.to_ascii_lowercase()),
                false => (x, y),
            };
            if x != y {
                return x.cmp(&y);
            }
        }
        a.len().cmp(&b.len())
    }

    /// Whether index `a` sorts before index `b`: by key, then by index.
    fn less(&self, a: usize, b: usize) -> bool {
        self.cmp(a, b).then(a.cmp(&b)) == Ordering::Less
    }

    /// Sorts the indices `v` by [`Self::less`]: heapsort, for its guaranteed n log n in little
    /// code (module size: std's sorts add several kB per instantiation).
    fn heapsort(&self, v: &mut [usize]) {
        for start in (0..v.len() / 2).rev() {
            self.sift_down(v, start, v.len());
        }
        for end in (1..v.len()).rev() {
            swap(v, 0, end);
            self.sift_down(v, 0, end);
        }
    }

    /// Moves `v[root]` down the max-heap `v[..end]` to where it belongs.
    fn sift_down(&self, v: &mut [usize], mut root: usize, end: usize) {
        let at = |v: &[usize], i: usize| v.get(i).copied().unwrap_or_default();
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && self.less(at(v, child), at(v, child + 1)) {
                child += 1;
            }
            if !self.less(at(v, root), at(v, child)) {
                return;
            }
            swap(v, root, child);
            root = child;
        }
    }
}

/// `v.swap(i, j)` without its panic path.
fn swap(v: &mut [usize], i: usize, j: usize) {
    if let (Some(&x), Some(&y)) = (v.get(i), v.get(j)) {
        if let Some(s) = v.get_mut(i) {
            *s = y;
        }
        if let Some(s) = v.get_mut(j) {
            *s = x;
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// How many times [`less`] ran on this thread.
        pub(super) static COMPARISONS: Cell<u64> = const { Cell::new(0) };
    }

    /// `first_repeated` of members with these keys.
    fn first(keys: &[&str], ignore_case: bool) -> Option<usize> {
        let members: Vec<(String, ())> = keys.iter().map(|k| (k.to_string(), ())).collect();
        first_repeated(&members, ignore_case)
    }

    #[test]
    fn first_repeated_is_in_document_order() {
        assert_eq!(first(&[], false), None);
        assert_eq!(first(&["a"], false), None);
        assert_eq!(first(&["b", "a", "c", "a", "b"], false), Some(3));
        assert_eq!(first(&["b", "a", "b", "a"], false), Some(2));
        assert_eq!(first(&["x", "x", "x"], false), Some(1));
        assert_eq!(first(&["b", "a", "c"], false), None);
        assert_eq!(first(&["X-A", "b", "x-a"], false), None);
        assert_eq!(first(&["X-A", "b", "x-a"], true), Some(2));
        assert_eq!(first(&["é", "É"], true), None);
    }

    /// Agrees with the obvious quadratic check on every list of up to 7 items over 3 values.
    #[test]
    fn agrees_with_pairwise_comparison() {
        for len in 0..=7u32 {
            for code in 0..3u32.pow(len) {
                let items: Vec<&str> = (0..len)
                    .map(|i| ["a", "b", "c"][(code / 3u32.pow(i) % 3) as usize])
                    .collect();
                let expected = (0..items.len()).find(|&i| items[..i].contains(&items[i]));
                assert_eq!(first(&items, false), expected, "{items:?}");
            }
        }
    }

    /// A configuration of 30,000 names is checked in n log n comparisons, not n² / 2 (which
    /// took about 5 s natively, more in wasm).
    #[test]
    fn comparisons_grow_as_n_log_n() {
        let n = 30_000usize;
        let members: Vec<(String, ())> = (0..n).map(|i| (format!("x-{i}"), ())).collect();
        COMPARISONS.with(|c| c.set(0));
        assert_eq!(first_repeated(&members, true), None);
        let count = COMPARISONS.with(|c| c.get());
        let log2 = u64::from(usize::BITS - n.leading_zeros());
        let bound = 3 * n as u64 * log2;
        assert!(
            count <= bound,
            "EXPECTED at most {bound} comparisons (3 n log2 n) GOT {count}"
        );
    }
}
