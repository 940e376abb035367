//! The posts forwarded most recently, to skip the ones a resume delivers again.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// The post URIs forwarded most recently, oldest forgotten first.
#[derive(Debug)]
pub struct RecentPosts {
    capacity: usize,
    set: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
}

impl RecentPosts {
    pub fn new(capacity: usize) -> RecentPosts {
        RecentPosts {
            capacity: capacity.max(1),
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers `uri`; false when it was already remembered (a repeat).
    pub fn insert(&mut self, uri: &str) -> bool {
        if self.set.contains(uri) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        let uri: Arc<str> = Arc::from(uri);
        self.set.insert(Arc::clone(&uri));
        self.order.push_back(uri);
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_posts_skip_repeats_and_forget_the_oldest_beyond_capacity() {
        let mut recent = RecentPosts::new(3);
        assert!(recent.insert("a"));
        assert!(recent.insert("b"));
        assert!(!recent.insert("a"), "a repeat");
        assert!(recent.insert("c"));
        assert!(recent.insert("d"), "a is forgotten to make room");
        assert_eq!(recent.len(), 3);
        assert!(recent.insert("a"), "a was forgotten");
        assert!(!recent.insert("d"));
        assert!(recent.insert("b"), "b was the oldest after a came back");
    }
}
