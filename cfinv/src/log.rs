//! The library's log events on standard error, one readable line each: `cfinv: warning: what
//! happened: the error (field=value, …)`. The library warns where it goes on in a degraded mode
//! (it could not read what is in progress, or what an earlier run made), and says there what it
//! skipped; the line adds what would restore the check when the cause is a permission.
//!
//! Levels: warnings by default; `-q` none; `-v` also what the library does at each step (INFO);
//! `-vv` its details (DEBUG) and the AWS SDK's own warnings.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// Installs the subscriber for this process.
pub fn init(quiet: bool, verbose: u8) {
    let library = match (quiet, verbose) {
        (true, _) => LevelFilter::OFF,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, _) => LevelFilter::DEBUG,
    };
    let sdk = if verbose >= 2 { LevelFilter::WARN } else { LevelFilter::OFF };
    let filter = Targets::new().with_target("cf_invalidator", library).with_target("aws", sdk);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false).event_format(Line);
    let _ = tracing_subscriber::registry().with(layer.with_filter(filter)).try_init();
}

/// One event as one line.
struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut f = Fields::default();
        event.record(&mut f);
        // Without credentials every step fails the same way, and cfinv's own error line says so
        // once, with how to provide them.
        if f.error_type.as_deref() == Some("NoCredentials") {
            return Ok(());
        }
        writeln!(w, "{}", f.line(*event.metadata().level()))
    }
}

/// An event's fields: the message, the error and its type apart, the rest as `name=value`.
#[derive(Default)]
struct Fields {
    message: String,
    error: Option<String>,
    error_type: Option<String>,
    rest: Vec<String>,
}

impl Fields {
    fn line(&self, level: Level) -> String {
        let level = match level {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            _ => "debug",
        };
        let mut line = format!("cfinv: {level}: {}", self.message);
        if let Some(e) = &self.error {
            match &self.error_type {
                Some(t) => line.push_str(&format!(": {t}: {e}")),
                None => line.push_str(&format!(": {e}")),
            }
        }
        if !self.rest.is_empty() {
            line.push_str(&format!(" ({})", self.rest.join(", ")));
        }
        line.push_str(restore(self.error_type.as_deref()));
        // One event, one line, whatever a message holds.
        line.replace(['\n', '\r'], " ")
    }
}

/// What restores a check the library skipped, by the error that made it skip it. The library's
/// warnings of a degraded mode are all about reading invalidations (the room, an earlier run's).
fn restore(error_type: Option<&str>) -> &'static str {
    match error_type {
        Some("AccessDenied") => {
            "; to restore this check, allow cloudfront:ListInvalidations and cloudfront:GetInvalidation on the distribution"
        }
        _ => "",
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }
}

impl Fields {
    fn record(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "error" => self.error = Some(value),
            "error_type" => self.error_type = Some(value),
            name => self.rest.push(format!("{name}={value}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: one line, the message first, the error with its type, the other fields after, and
    /// for a permission what restores the check.
    #[test]
    fn a_warning_is_one_readable_line() {
        let f = Fields {
            message: "in-progress invalidations not readable; planning as if none".into(),
            error: Some("access denied to distribution E1: ListInvalidations: AccessDenied: no\nway".into()),
            error_type: Some("AccessDenied".into()),
            rest: vec!["distribution_id=E1".into()],
        };
        let line = f.line(Level::WARN);
        assert_eq!(
            line,
            "cfinv: warning: in-progress invalidations not readable; planning as if none: AccessDenied: \
             access denied to distribution E1: ListInvalidations: AccessDenied: no way (distribution_id=E1); \
             to restore this check, allow cloudfront:ListInvalidations and cloudfront:GetInvalidation on the distribution"
        );
        let plain = Fields { message: "m".into(), ..Fields::default() };
        assert_eq!(plain.line(Level::INFO), "cfinv: info: m");
    }
}
