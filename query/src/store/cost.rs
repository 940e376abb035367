//! What the requests of one run cost, summed over every page, and the line
//! `--consumed-capacity` prints of it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::ConsumedCapacity;

/// What the requests of one run cost, summed over every page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Read capacity units DynamoDB reported (`ConsumedCapacity.CapacityUnits`).
    pub read_units: f64,
    pub operations: BTreeMap<&'static str, OperationUsage>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationUsage {
    /// Requests sent (a Query or Scan page is one request).
    pub requests: u64,
    /// Items returned.
    pub items: u64,
    /// Items read before any filter (Scan with a filter reads more than it returns).
    pub scanned: u64,
}

impl Usage {
    /// One line for stderr: `read capacity: 12.5 units; Query: 3 requests, 2500 items`.
    pub fn summary(&self) -> String {
        let mut line = format!("read capacity: {} units", format_units(self.read_units));
        for (operation, usage) in &self.operations {
            let plural = |n: u64, word: &str| {
                if n == 1 {
                    format!("{n} {word}")
                } else {
                    format!("{n} {word}s")
                }
            };
            line.push_str(&format!(
                "; {operation}: {}, {}",
                plural(usage.requests, "request"),
                plural(usage.items, "item")
            ));
            if usage.scanned != usage.items {
                line.push_str(&format!(" of {} scanned", usage.scanned));
            }
        }
        line
    }
}

fn format_units(units: f64) -> String {
    // Capacity comes in halves; more digits would be noise.
    let text = format!("{units:.1}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

/// The [`Usage`] of every request so far, added to by requests in flight at once; and who
/// is told of each page as it arrives.
#[derive(Debug, Default)]
pub(super) struct Meter {
    usage: Mutex<Usage>,
    observer: Option<Arc<dyn ReadObserver>>,
}

/// Told of every page a read returns, as it arrives: what a progress line counts.
pub trait ReadObserver: std::fmt::Debug + Send + Sync {
    /// A page of `scanned` items came back (counted before any filter: what the read waited
    /// for and pays for).
    fn page(&self, scanned: u64);
}

impl Meter {
    pub(super) fn observed_by(observer: Arc<dyn ReadObserver>) -> Meter {
        Meter {
            usage: Mutex::default(),
            observer: Some(observer),
        }
    }

    pub(super) fn total(&self) -> Usage {
        self.usage
            .lock()
            .map(|u| u.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// One request of `operation`: the capacity it reported, the items it returned and read.
    pub(super) fn record(
        &self,
        operation: &'static str,
        capacity: &[&ConsumedCapacity],
        items: i32,
        scanned: i32,
    ) {
        let scanned = u64::try_from(scanned).unwrap_or_default();
        {
            let mut usage = match self.usage.lock() {
                Ok(u) => u,
                Err(poisoned) => poisoned.into_inner(),
            };
            usage.read_units += capacity
                .iter()
                .filter_map(|c| c.capacity_units())
                .sum::<f64>();
            let op = usage.operations.entry(operation).or_default();
            op.requests += 1;
            op.items += u64::try_from(items).unwrap_or_default();
            op.scanned += scanned;
        }
        if let Some(observer) = &self.observer {
            observer.page(scanned);
        }
    }

    /// One Query or Scan page.
    pub(super) fn record_page(&self, operation: &'static str, page: &impl ReadPage) {
        let capacity: Vec<&ConsumedCapacity> = page.capacity().into_iter().collect();
        self.record(operation, &capacity, page.items(), page.scanned());
    }
}

/// What [`Meter::record_page`] reads from a Query or a Scan page (the SDK gives the two output
/// types no common trait).
pub(super) trait ReadPage {
    fn capacity(&self) -> Option<&ConsumedCapacity>;
    fn items(&self) -> i32;
    fn scanned(&self) -> i32;
}

impl ReadPage for aws_sdk_dynamodb::operation::query::QueryOutput {
    fn capacity(&self) -> Option<&ConsumedCapacity> {
        self.consumed_capacity()
    }
    fn items(&self) -> i32 {
        self.count()
    }
    fn scanned(&self) -> i32 {
        self.scanned_count()
    }
}

impl ReadPage for aws_sdk_dynamodb::operation::scan::ScanOutput {
    fn capacity(&self) -> Option<&ConsumedCapacity> {
        self.consumed_capacity()
    }
    fn items(&self) -> i32 {
        self.count()
    }
    fn scanned(&self) -> i32 {
        self.scanned_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_summary_names_units_requests_and_items() {
        let mut usage = Usage {
            read_units: 12.5,
            ..Usage::default()
        };
        usage.operations.insert(
            "Query",
            OperationUsage {
                requests: 3,
                items: 2500,
                scanned: 2500,
            },
        );
        usage.operations.insert(
            "Scan",
            OperationUsage {
                requests: 1,
                items: 1,
                scanned: 40,
            },
        );
        assert_eq!(
            usage.summary(),
            "read capacity: 12.5 units; Query: 3 requests, 2500 items; Scan: 1 request, 1 item of 40 scanned"
        );
        assert_eq!(Usage::default().summary(), "read capacity: 0 units");
    }
}
