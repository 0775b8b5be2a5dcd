//! Events for the functions: the API Gateway v2 fixtures in `events/apigw/`, with
//! their placeholders filled in, so the benchmark sends exactly what the fixture
//! test sends.

use std::path::Path;

use serde_json::Value;

pub struct Fixtures {
    dir: std::path::PathBuf,
}

impl Fixtures {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The fixture `file` with each `{{name}}` replaced by its value.
    pub fn load(&self, file: &str, fills: &[(&str, &str)]) -> Result<Value, String> {
        let path = self.dir.join(file);
        let mut text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (name, value) in fills {
            text = text.replace(&format!("{{{{{name}}}}}"), value);
        }
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The JSON body of an API Gateway response.
pub fn body_of(response: &Value) -> Option<Value> {
    let body = response.get("body")?.as_str()?;
    serde_json::from_str(body).ok()
}
