//! The metric settings every host reads the same way.

use crate::config::{ConfigError, Env};

/// A CloudWatch namespace: 1 to 255 of letters, digits and `. - _ / # :` and
/// spaces, not starting with `AWS/` (reserved for AWS's own metrics). The same
/// rule on every host, so a name that works locally works on Lambda.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricNamespace(String);

impl MetricNamespace {
    /// Checks `text` against the rule above.
    pub fn parse(text: &str) -> Result<Self, String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || " .-_/#:".contains(c);
        if text.is_empty() || text.len() > 255 {
            return Err("must be 1 to 255 characters".into());
        }
        if let Some(bad) = text.chars().find(|c| !allowed(*c)) {
            return Err(format!(
                "holds {bad:?}; use letters, digits, spaces and . - _ / # :"
            ));
        }
        if text.starts_with("AWS/") {
            return Err("AWS/ is reserved for AWS's own metrics".into());
        }
        Ok(Self(text.to_owned()))
    }

    /// The namespace.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether metrics are recorded, and under which names (`SKIFF_METRICS`,
/// `SKIFF_METRICS_NAMESPACE`, `SKIFF_SERVICE_NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `SKIFF_METRICS=off` installs no sink: every metric call is a no-op.
    pub enabled: bool,
    /// The CloudWatch namespace (Powertools' `POWERTOOLS_METRICS_NAMESPACE`).
    pub namespace: MetricNamespace,
    /// The `service` dimension on every metric (Powertools' `POWERTOOLS_SERVICE_NAME`).
    pub service: String,
}

impl MetricsSettings {
    /// The namespace when `SKIFF_METRICS_NAMESPACE` is unset.
    pub const DEFAULT_NAMESPACE: &'static str = "Skiff";
    /// The service when `SKIFF_SERVICE_NAME` is unset.
    pub const DEFAULT_SERVICE: &'static str = "skiff";

    /// From `env`; a bad value names its variable.
    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let enabled = match env.raw("SKIFF_METRICS").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError {
                    name: "SKIFF_METRICS",
                    value: other.to_owned(),
                    reason: "expected on or off".into(),
                });
            }
        };
        let text = env
            .raw("SKIFF_METRICS_NAMESPACE")
            .unwrap_or_else(|| Self::DEFAULT_NAMESPACE.to_owned());
        let namespace = MetricNamespace::parse(&text).map_err(|reason| ConfigError {
            name: "SKIFF_METRICS_NAMESPACE",
            value: text.clone(),
            reason,
        })?;
        Ok(Self {
            enabled,
            namespace,
            service: service_name(env)?,
        })
    }
}

/// `SKIFF_SERVICE_NAME`: the `service` of every metric and log line.
pub(super) fn service_name<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<String, ConfigError> {
    let service = env
        .raw("SKIFF_SERVICE_NAME")
        .unwrap_or_else(|| MetricsSettings::DEFAULT_SERVICE.to_owned());
    // A dimension value: CloudWatch takes 1 to 1024 characters, no controls.
    if service.is_empty() || service.len() > 1024 || service.chars().any(char::is_control) {
        return Err(ConfigError {
            name: "SKIFF_SERVICE_NAME",
            value: service,
            reason: "must be 1 to 1024 characters without control characters".into(),
        });
    }
    Ok(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<MetricsSettings, ConfigError> {
        MetricsSettings::from(&Env::from_pairs(pairs))
    }

    #[test]
    fn defaults_are_on_under_skiff() {
        let s = settings(&[]).unwrap();
        assert!(s.enabled);
        assert_eq!(s.namespace.as_str(), "Skiff");
        assert_eq!(s.service, "skiff");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("SKIFF_METRICS", "yes"),
            ("SKIFF_METRICS_NAMESPACE", "AWS/Lambda"),
            ("SKIFF_METRICS_NAMESPACE", "shop{prod}"),
            ("SKIFF_SERVICE_NAME", "shop\tprod"),
        ] {
            let e = settings(&[(name, value)]).unwrap_err();
            assert_eq!(e.name, name, "{value}");
        }
        assert!(!settings(&[("SKIFF_METRICS", "off")]).unwrap().enabled);
        assert!(settings(&[("SKIFF_METRICS_NAMESPACE", "Shop/Prod #1")]).is_ok());
    }
}
