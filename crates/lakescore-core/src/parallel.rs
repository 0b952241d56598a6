//! Work spread over a few threads: the caller's and scoped ones, each taking
//! the next item as it finishes one, so that a thread slowed by other work in
//! the process leaves the rest to the others. Used where a run splits work
//! per batch (drift columns, forest row chunks).

use std::sync::Mutex;

/// `f` of every item, in order, computed on up to `threads` threads (the
/// caller's and scoped ones), each taking the next item as it finishes one.
pub fn map_parallel<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let n = items.len();
    // Popped from the end: reversed, so items start in order.
    let queue = Mutex::new(items.into_iter().enumerate().rev().collect::<Vec<_>>());
    let done = Mutex::new(Vec::with_capacity(n));
    let work = || {
        while let Some((i, item)) = queue.lock().ok().and_then(|mut q| q.pop()) {
            let r = f(item);
            if let Ok(mut done) = done.lock() {
                done.push((i, r));
            }
        }
    };
    // The calling thread is one of the workers.
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    let mut done = done.into_inner().unwrap_or_default();
    done.sort_unstable_by_key(|(i, _)| *i);
    assert_eq!(done.len(), n, "every item is mapped");
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_on_any_thread_count() {
        let items: Vec<u64> = (0..1_000).collect();
        let want: Vec<u64> = items.iter().map(|i| i * i).collect();
        for threads in [0, 1, 2, 7, 5_000] {
            assert_eq!(map_parallel(items.clone(), threads, |i| i * i), want);
        }
        assert!(map_parallel(Vec::<u64>::new(), 3, |i| i).is_empty());
    }
}
