//! One module per subcommand.

pub mod bench;
pub mod bench_data;
pub mod bench_deploy;
pub mod control;
pub mod deploy;
pub mod deployments;
pub mod key;
pub mod serve;
pub mod tenant;
pub mod validate;
