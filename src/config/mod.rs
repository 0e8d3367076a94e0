//! Settings and secrets: read from the environment once at start (pure), with the secrets stored
//! in Secrets Manager or SSM read then (the one I/O here, [`secrets`]).

pub mod accounts;
pub mod buttons;
pub mod datadog;
pub mod duration;
pub mod filter;
pub mod grouping;
pub mod routes;
pub mod secret;
pub mod secrets;
pub mod settings;
pub mod teams;
pub mod value;

pub use accounts::{Accounts, NameLookup};
pub use buttons::ButtonSettings;
pub use datadog::DatadogSettings;
pub use grouping::grouping;
pub use secret::Secret;
pub use settings::{parse_bool, Config, EnrichSettings, Replay, SlackBotSettings};
pub use teams::TeamsSettings;
pub use value::{ConfigError, SecretSetting, ROUTE_PREFIX, SECRET_SUFFIX};
