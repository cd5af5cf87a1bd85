//! One module per subcommand.

pub mod audit;
pub mod check;
mod location;
pub mod quarantine;
pub mod scan;
pub mod serve;
pub mod users;
