//! An in-memory Step Functions that keeps AWS's StartExecution rules for names, for the handler's
//! tracking tests:
//!
//! - a name is 1-80 characters without whitespace, `<>{}[]?*"#%\^|~`$&,;:/` or controls
//!   (`InvalidName`);
//! - a name in use: the same input while that execution runs returns it; a different input, or an
//!   execution that has closed (`finish`), is `ExecutionAlreadyExists` (StartExecution's API
//!   reference; names stay taken for 90 days after closing);
//! - errors can be scripted for the next calls; every call is counted.

use crate::deadline::Instant;
use std::collections::VecDeque;
use std::sync::Mutex;

use super::{Started, TrackError, Tracker, MAX_NAME};

/// One execution, as a test needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub name: String,
    pub input: String,
    pub running: bool,
}

#[derive(Default)]
struct State {
    executions: Vec<Execution>,
    scripted: VecDeque<TrackError>,
    calls: usize,
}

/// See the module documentation.
#[derive(Default)]
pub struct MemoryTracker {
    state: Mutex<State>,
}

impl MemoryTracker {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every execution started, oldest first.
    pub fn executions(&self) -> Vec<Execution> {
        self.lock().executions.clone()
    }

    /// StartExecution calls, answered or not.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// The execution with this name ends (its name stays taken).
    pub fn finish(&self, name: &str) {
        for e in self.lock().executions.iter_mut().filter(|e| e.name == name) {
            e.running = false;
        }
    }

    /// The next call fails with this error (`code` as Step Functions names it).
    pub fn script(&self, code: &str, message: &str) {
        self.lock().scripted.push_back(TrackError { code: code.into(), message: message.into() });
    }
}

fn arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:memory:{name}")
}

impl Tracker for MemoryTracker {
    async fn start_execution(&self, name: &str, input: &str, _: Option<Instant>) -> Result<Started, TrackError> {
        let mut s = self.lock();
        s.calls += 1;
        if let Some(e) = s.scripted.pop_front() {
            return Err(e);
        }
        let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(forbidden) {
            return Err(TrackError { code: "InvalidName".into(), message: format!("Invalid Name: '{name}'") });
        }
        if let Some(e) = s.executions.iter().find(|e| e.name == name) {
            if e.running && e.input == input {
                return Ok(Started::Execution { execution_arn: arn(name) });
            }
            return Ok(Started::AlreadyExists);
        }
        s.executions.push(Execution { name: name.into(), input: input.into(), running: true });
        Ok(Started::Execution { execution_arn: arn(name) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(t: &MemoryTracker, name: &str, input: &str) -> Result<Started, TrackError> {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(t.start_execution(name, input, None))
    }

    /// Rule (StartExecution, Standard): a name in use returns its execution only while it runs and
    /// only for the same input; otherwise ExecutionAlreadyExists. Invalid names are refused.
    #[test]
    fn names_follow_aws_rules() {
        let t = MemoryTracker::new();
        assert!(matches!(start(&t, "a", "{}"), Ok(Started::Execution { .. })));
        assert!(matches!(start(&t, "a", "{}"), Ok(Started::Execution { .. })), "same input, running");
        assert_eq!(start(&t, "a", r#"{"x":1}"#), Ok(Started::AlreadyExists), "other input");
        t.finish("a");
        assert_eq!(start(&t, "a", "{}"), Ok(Started::AlreadyExists), "closed");
        assert_eq!(t.executions().len(), 1);
        for bad in ["", "a b", "a:b", &"x".repeat(81)] {
            assert_eq!(start(&t, bad, "{}").unwrap_err().code, "InvalidName", "{bad:?}");
        }
        t.script("AccessDeniedException", "no");
        assert_eq!(start(&t, "b", "{}").unwrap_err().code, "AccessDeniedException");
        assert_eq!(t.calls(), 9);
    }
}
