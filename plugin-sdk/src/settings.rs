//! Typed access to the operator's settings for this plugin.

use crate::{Attribute, ScanError};

/// The operator's settings (`[plugins.NAME.settings]` in the agent config).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: Vec<Attribute>,
}

impl Settings {
    /// Wrap the settings from the scan context.
    pub fn new(values: &[Attribute]) -> Self {
        Settings {
            values: values.to_vec(),
        }
    }

    /// Settings from name/value pairs, as a plugin's native tests write them.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Settings {
            values: pairs
                .iter()
                .map(|(name, value)| Attribute {
                    name: name.to_string(),
                    value: value.to_string(),
                })
                .collect(),
        }
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The value of `name`, or a configuration error naming it.
    pub fn require(&self, name: &str) -> Result<&str, ScanError> {
        self.get(name).ok_or_else(|| {
            ScanError::Config(format!(
                "setting `{name}` is missing; add it under this plugin's `settings` in the agent config"
            ))
        })
    }

    /// `name` parsed as an unsigned number, or `default` when absent.
    pub fn u64_or(&self, name: &str, default: u64) -> Result<u64, ScanError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                ScanError::Config(format!("setting `{name}` must be a whole number, got {v:?}"))
            }),
        }
    }

    /// `name` as a comma-separated list (empty items dropped).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_reads_and_clear_errors() {
        let st = Settings::from_pairs(&[("days", "30"), ("bad", "x"), ("hosts", "a, b,,c")]);
        assert_eq!(st.u64_or("days", 7).unwrap(), 30);
        assert_eq!(st.u64_or("absent", 7).unwrap(), 7);
        let err = st.u64_or("bad", 7).unwrap_err().to_string();
        assert!(err.contains("`bad`") && err.contains("whole number"), "{err}");
        assert_eq!(st.list("hosts"), vec!["a", "b", "c"]);
        assert!(st.require("mode").unwrap_err().to_string().contains("`mode` is missing"));
    }
}
