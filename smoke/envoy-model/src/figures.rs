//! The duration format that every report, step and message of the tools shares (`1.23 s`;
//! counts are grouped with the `thousands` crate). A leaf.

/// A duration as every report, step and message of the tools shows it: `1.23 s`.
pub fn seconds(d: std::time::Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_the_same_everywhere() {
        assert_eq!(seconds(std::time::Duration::from_millis(250)), "0.25 s");
        assert_eq!(seconds(std::time::Duration::from_millis(1234)), "1.23 s");
    }
}
