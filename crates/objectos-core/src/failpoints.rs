//! Failure injection for tests: make a chosen provisioning step fail, hang or slow down.
//!
//! Active only when the crate is built with the `failpoints` feature; otherwise configuring one is
//! refused and checks cost nothing. Spec syntax: `step=action[,step=action...]` where action is
//! `fail`, `fail(message)`, `hang`, `delay(ms)` or `off`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a failpoint does when reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Return an error with this message.
    Fail(String),
    /// Never return (until the task is dropped).
    Hang,
    /// Sleep this many milliseconds, then continue.
    Delay(u64),
}

/// Why a failpoint spec was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FailpointError {
    /// The binary was built without the `failpoints` feature.
    #[error("failpoints are not compiled into this build (cargo feature `failpoints`)")]
    NotCompiled,
    /// The spec could not be read.
    #[error("bad failpoint spec {0:?}: expected step=fail|fail(msg)|hang|delay(ms)|off")]
    Syntax(String),
    /// A failpoint name that no code reaches (a typo would otherwise never fire).
    #[error("unknown failpoint {0:?}; expected one of: {names}", names = objectos_store::STEP_NAMES.join(", "))]
    Unknown(String),
}

/// The set of armed failpoints, shared by the pipeline and whoever configures it.
#[derive(Debug, Clone, Default)]
pub struct Failpoints {
    armed: Arc<Mutex<HashMap<String, Action>>>,
}

impl Failpoints {
    /// Arms failpoints from a spec string (adds to or replaces those already armed).
    pub fn configure(&self, spec: &str) -> Result<(), FailpointError> {
        if !cfg!(feature = "failpoints") {
            return Err(FailpointError::NotCompiled);
        }
        let mut parsed = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, action) = item
                .split_once('=')
                .ok_or_else(|| FailpointError::Syntax(item.to_owned()))?;
            let action = match action.trim() {
                "off" => None,
                "fail" => Some(Action::Fail(format!("failpoint {name}"))),
                "hang" => Some(Action::Hang),
                a if a.starts_with("fail(") && a.ends_with(')') => {
                    Some(Action::Fail(a[5..a.len() - 1].to_owned()))
                }
                a if a.starts_with("delay(") && a.ends_with(')') => Some(Action::Delay(
                    a[6..a.len() - 1]
                        .parse()
                        .map_err(|_| FailpointError::Syntax(item.to_owned()))?,
                )),
                _ => return Err(FailpointError::Syntax(item.to_owned())),
            };
            let name = name.trim();
            if !objectos_store::STEP_NAMES.contains(&name) {
                return Err(FailpointError::Unknown(name.to_owned()));
            }
            parsed.push((name.to_owned(), action));
        }
        let mut armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
        for (name, action) in parsed {
            match action {
                Some(action) => armed.insert(name, action),
                None => armed.remove(&name),
            };
        }
        Ok(())
    }

    /// Disarms everything.
    pub fn clear(&self) {
        self.armed.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Runs the failpoint `name` if armed: `Err(message)` for `fail`.
    pub async fn check(&self, name: &str) -> Result<(), String> {
        if !cfg!(feature = "failpoints") {
            return Ok(());
        }
        let action = self
            .armed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned();
        match action {
            None => Ok(()),
            Some(Action::Fail(message)) => Err(message),
            Some(Action::Delay(ms)) => {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                Ok(())
            }
            Some(Action::Hang) => {
                std::future::pending::<()>().await;
                Ok(())
            }
        }
    }
}

#[cfg(all(test, feature = "failpoints"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn specs_arm_and_disarm() {
        let fp = Failpoints::default();
        fp.configure("sync_schema=fail(boom), activate=delay(1)")
            .unwrap();
        assert_eq!(fp.check("sync_schema").await, Err("boom".to_owned()));
        assert_eq!(fp.check("activate").await, Ok(()));
        fp.configure("sync_schema=off").unwrap();
        assert_eq!(fp.check("sync_schema").await, Ok(()));
        assert!(matches!(fp.configure("x"), Err(FailpointError::Syntax(_))));
        assert!(matches!(
            fp.configure("x=delay(a)"),
            Err(FailpointError::Syntax(_))
        ));
    }
}

#[cfg(all(test, not(feature = "failpoints")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_the_feature_nothing_can_be_armed() {
        let fp = Failpoints::default();
        assert_eq!(
            fp.configure("sync_schema=fail"),
            Err(FailpointError::NotCompiled)
        );
        assert_eq!(fp.check("sync_schema").await, Ok(()));
    }
}
