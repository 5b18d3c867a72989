//! Small-cell suppression: the one step every published count built on personal data passes.

use serde::Serialize;

/// The smallest count published; counts from 1 to K-1 are withheld.
pub const DEFAULT_K: u64 = 5;
/// K may be configured, never below this.
pub const MIN_K: u64 = 3;

/// A published count: the value, or withheld (never shown as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: Option<u64>,
    pub withheld: bool,
}

/// Withholds a count from 1 to k−1 (k is raised to [`MIN_K`] if set lower).
pub fn suppress(n: u64, k: u64) -> Count {
    let k = k.max(MIN_K);
    if n > 0 && n < k {
        Count {
            value: None,
            withheld: true,
        }
    } else {
        Count {
            value: Some(n),
            withheld: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_withheld_never_zeroed() {
        assert_eq!(
            suppress(0, 5),
            Count {
                value: Some(0),
                withheld: false
            }
        );
        assert_eq!(
            suppress(1, 5),
            Count {
                value: None,
                withheld: true
            }
        );
        assert_eq!(
            suppress(4, 5),
            Count {
                value: None,
                withheld: true
            }
        );
        assert_eq!(
            suppress(5, 5),
            Count {
                value: Some(5),
                withheld: false
            }
        );
        assert_eq!(
            suppress(2, 1),
            Count {
                value: None,
                withheld: true
            },
            "k never below 3"
        );
    }
}
