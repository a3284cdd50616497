//! What every subcommand that calls AWS starts from: the Lambda's configuration, the CloudFront
//! client configured as the Lambda's, a runtime, and an event read from a file or standard input.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use cf_invalidator::cloudfront::SdkCloudFront;
use cf_invalidator::Config;

use crate::exit::usage;

/// The Lambda's configuration from the environment, or the message that names the variable.
pub fn config() -> Result<Config, String> {
    Config::from_env().map_err(|e| {
        format!("{e}\nFix the variable in your environment (the README lists every variable and its values).")
    })
}

/// The SDK's CloudFront client, configured as the Lambda's (endpoint and roles from ROUTES).
pub async fn cloudfront(cfg: &Config) -> SdkCloudFront {
    let roles = cfg.roles.iter().map(|(d, r)| (d.as_str(), r.as_str()));
    SdkCloudFront::from_env(cfg.cloudfront_endpoint.as_deref(), roles).await
}

/// An event file (`-`: standard input).
pub fn read_event(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A runtime for one command's AWS calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Runs an async command; its `Err` is a usage error (`fail`'s contract, `json` as asked).
pub fn block_on(json: bool, f: impl std::future::Future<Output = Result<ExitCode, String>>) -> ExitCode {
    match runtime().and_then(|rt| rt.block_on(f)) {
        Ok(code) => code,
        Err(msg) => usage(json, msg),
    }
}
