use std::io::Write;
use std::path::Path;

use super::{LocalConfig, LocalError};
use crate::auth::generate_private_key_pem;

const DEV_KEY_FILE: &str = "signing-key.pem";

/// The configured key files, or else the data directory's development key,
/// generated on first start so tokens stay valid across restarts.
pub(super) fn load_signing_keys(config: &LocalConfig) -> Result<Vec<String>, LocalError> {
    if !config.signing_key_files.is_empty() {
        return config
            .signing_key_files
            .iter()
            .map(|path| read(path))
            .collect();
    }
    let path = config.data_dir.join(DEV_KEY_FILE);
    if path.exists() {
        return Ok(vec![read(&path)?]);
    }
    let pem = generate_private_key_pem()?;
    write_private(&path, &pem)?;
    tracing::info!(path = %path.display(), "generated a development signing key");
    Ok(vec![pem])
}

fn read(path: &Path) -> Result<String, LocalError> {
    std::fs::read_to_string(path).map_err(|source| LocalError::ReadKey {
        path: path.display().to_string(),
        source,
    })
}

/// Owner-only permissions from the moment the file exists.
fn write_private(path: &Path, pem: &str) -> Result<(), LocalError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut file| file.write_all(pem.as_bytes()))
        .map_err(|source| LocalError::WriteKey {
            path: path.display().to_string(),
            source,
        })
}
