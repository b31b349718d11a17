//! Failure injection for tests: make a chosen provisioning step fail, hang or slow down.
//!
//! Active only when the crate is built with the `failpoints` feature; otherwise configuring one is
//! refused and checks cost nothing. Spec syntax: `step=action[,step=action...]` where action is
//! `fail`, `fail(message)`, `hang`, `delay(ms)` or `off`.
//!
//! Names: the provisioning steps ([`objectos_store::STEP_NAMES`]) and the deploy's
//! [`DEPLOY_BEFORE_COMMIT`] and `deploy_statement_<n>` (after the plan's statement `n`, 0-based;
//! see [`deploy_statement`]), and [`DESTROY_DATABASE_DELETED`]. The deploy runs on a blocking thread, so it uses
//! [`Failpoints::check_sync`].

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
    #[error("unknown failpoint {0:?}; expected one of: {names}, {DEPLOY_BEFORE_COMMIT}, {DEPLOY_STATEMENT_PREFIX}<n>, {DESTROY_DATABASE_DELETED}", names = objectos_store::STEP_NAMES.join(", "))]
    Unknown(String),
}

/// The deploy failpoint reached after the plan, metadata, seed data and ledger row, just before
/// the commit.
pub const DEPLOY_BEFORE_COMMIT: &str = "deploy_before_commit";

/// The failpoint reached by a destruction right after the tenant's database was deleted, before
/// its records are (a `delay` there holds a destroy in the window that requests may race).
pub const DESTROY_DATABASE_DELETED: &str = "destroy_database_deleted";

/// The prefix of the deploy failpoints reached after each statement: `deploy_statement_<n>`.
pub const DEPLOY_STATEMENT_PREFIX: &str = "deploy_statement_";

/// The name of the failpoint reached after the plan's statement `index` (0-based).
pub fn deploy_statement(index: usize) -> String {
    format!("{DEPLOY_STATEMENT_PREFIX}{index}")
}

/// True for a name some code reaches.
fn known(name: &str) -> bool {
    objectos_store::STEP_NAMES.contains(&name)
        || name == DEPLOY_BEFORE_COMMIT
        || name == DESTROY_DATABASE_DELETED
        || name
            .strip_prefix(DEPLOY_STATEMENT_PREFIX)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
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
            if !known(name) {
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

    fn armed(&self, name: &str) -> Option<Action> {
        if !cfg!(feature = "failpoints") {
            return None;
        }
        self.armed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Runs the failpoint `name` if armed: `Err(message)` for `fail`.
    pub async fn check(&self, name: &str) -> Result<(), String> {
        match self.armed(name) {
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

    /// [`Failpoints::check`] for synchronous code (a blocking thread): `Err(message)` for `fail`,
    /// `delay` blocks the thread, `hang` blocks it until the process dies.
    pub fn check_sync(&self, name: &str) -> Result<(), String> {
        match self.armed(name) {
            None => Ok(()),
            Some(Action::Fail(message)) => Err(message),
            Some(Action::Delay(ms)) => {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(())
            }
            Some(Action::Hang) => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
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

    #[test]
    fn deploy_names_are_known_and_checked_synchronously() {
        let fp = Failpoints::default();
        fp.configure(
            "deploy_statement_0=fail, deploy_statement_12=delay(1), deploy_before_commit=fail(no)",
        )
        .unwrap();
        assert_eq!(
            fp.check_sync(&deploy_statement(0)),
            Err("failpoint deploy_statement_0".to_owned())
        );
        assert_eq!(fp.check_sync(&deploy_statement(12)), Ok(()));
        assert_eq!(fp.check_sync(&deploy_statement(1)), Ok(()));
        assert_eq!(fp.check_sync(DEPLOY_BEFORE_COMMIT), Err("no".to_owned()));
        for bad in [
            "deploy_statement_=fail",
            "deploy_statement_x=fail",
            "deploy_statement_-1=fail",
            "deploy_after_commit=fail",
            "sync_schemas=fail",
        ] {
            assert!(
                matches!(fp.configure(bad), Err(FailpointError::Unknown(_))),
                "{bad}"
            );
        }
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
